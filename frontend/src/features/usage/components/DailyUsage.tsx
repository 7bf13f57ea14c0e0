import { useTranslation } from "react-i18next";
import { formatTime } from "../../../lib/format";
import { useUsage } from "../hooks";
import type { Usage } from "../types";

/** "Tokens today: 1,200 of 50,000", when the server has a daily token quota. */
function TokensToday({ usage }: { usage: Usage }) {
  const { t, i18n } = useTranslation();
  if (!usage.daily_token_limit) return null;
  const numbers = new Intl.NumberFormat(i18n.language);
  return (
    <p className="usage-line" data-testid="tokens-today">
      {t("usage.tokensToday", {
        used: numbers.format(usage.tokens_today),
        limit: numbers.format(usage.daily_token_limit),
      })}
    </p>
  );
}

/** "Messages today: 3 of 50"; a warning with the reset time once the limit is reached. Nothing without a quota. */
export function UsageSummary({ usage }: { usage: Usage | undefined }) {
  const { t, i18n } = useTranslation();
  if (!usage) return null;
  if (usage.daily_message_limit === null) return <TokensToday usage={usage} />;
  const numbers = new Intl.NumberFormat(i18n.language);
  const values = {
    used: numbers.format(usage.daily_messages_used),
    limit: numbers.format(usage.daily_message_limit),
  };
  if (usage.daily_messages_used >= usage.daily_message_limit) {
    return (
      <p className="usage-line usage-limit" data-testid="daily-usage">
        {t("usage.limitReached", { ...values, time: formatTime(usage.resets_at, i18n.language) })}
      </p>
    );
  }
  return (
    <>
      <p className="usage-line" data-testid="daily-usage">
        {t("usage.today", values)}
      </p>
      <TokensToday usage={usage} />
    </>
  );
}

export function DailyUsage() {
  const usage = useUsage();
  return <UsageSummary usage={usage.data} />;
}
