import { lazy, Suspense, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate } from "react-router";
import { useAuth } from "../../auth";

// Its own chunk (with its strings): only an administrator who opens the page downloads it.
const AdminPage = lazy(() => import("./AdminPage"));

/** /admin: the admin page for administrators; anyone else is sent to the chat (the page never loads). */
export function AdminRoute({ leading }: { leading?: ReactNode }) {
  const { t } = useTranslation();
  const { user } = useAuth();
  if (!user?.is_admin) return <Navigate to="/" replace />;
  return (
    <Suspense fallback={<p className="muted admin-loading">{t("common.loading")}</p>}>
      <AdminPage leading={leading} />
    </Suspense>
  );
}
