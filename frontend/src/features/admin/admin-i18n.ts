import i18n from "../../lib/i18n";
import en from "../../locales/admin/en.json";
import ptBR from "../../locales/admin/pt-BR.json";

// The admin page's strings travel in its own chunk, as the "admin" namespace (both languages: ~2 kB).
i18n.addResourceBundle("en", "admin", en, true, true);
i18n.addResourceBundle("pt-BR", "admin", ptBR, true, true);

export const ADMIN_NS = "admin";
