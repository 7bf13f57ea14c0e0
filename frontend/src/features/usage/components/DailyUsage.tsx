import { useTranslation } from "react-i18next";
import { formatTime } from "../../../lib/format";
import { useUsage } from "../hooks";
import type { Usage } from "../types";

/** "Messages today: 3 of 50"; a warning with the reset time once the limit is reached. Nothing without a quota. */
export function UsageSummary({ usage }: { usage: Usage | undefined }) {
  const { t, i18n } = useTranslation();
  if (!usage || usage.daily_message_limit === null) return null;
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
    <p className="usage-line" data-testid="daily-usage">
      {t("usage.today", values)}
    </p>
  );
}

export function DailyUsage() {
  const usage = useUsage();
  return <UsageSummary usage={usage.data} />;
}
