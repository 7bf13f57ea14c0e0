import { useTranslation } from "react-i18next";
import { apiFetch } from "../../../lib/api-client";
import { ADMIN_NS } from "../admin-i18n";
import { last30Days, useUsageReport } from "../hooks";
import type { UsageGroup, UsageReport } from "../types";
import { dailyTotals, TokenChart } from "./TokenChart";

async function downloadCsv(group: UsageGroup, from: string, to: string) {
  const response = await apiFetch(`/api/admin/usage?group=${group}&from=${from}&to=${to}&format=csv`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `conversa-usage-${group}-${from}-${to}.csv`;
  link.click();
  URL.revokeObjectURL(url);
}

function UsageTable({ report, group }: { report: UsageReport; group: UsageGroup }) {
  const { t, i18n } = useTranslation(ADMIN_NS);
  const numbers = new Intl.NumberFormat(i18n.language);
  const money = new Intl.NumberFormat(i18n.language, { style: "currency", currency: "USD", maximumFractionDigits: 4 });
  const rows = [...report.rows, report.total];
  return (
    <div className="table-scroll">
      <table className="admin-table" data-testid={`usage-by-${group}`}>
        <thead>
          <tr>
            <th scope="col">{t(group === "user" ? "usage.user" : "usage.model")}</th>
            <th scope="col">{t("usage.messages")}</th>
            <th scope="col">{t("usage.inputTokens")}</th>
            <th scope="col">{t("usage.outputTokens")}</th>
            <th scope="col">{t("usage.titleTokens")}</th>
            <th scope="col">{t("usage.cost")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={`${row.key}-${index}`} className={index === rows.length - 1 ? "total-row" : undefined}>
              <th scope="row">
                {index === rows.length - 1 ? t("usage.total") : row.key === "(titles)" ? t("usage.titlesRow") : row.key}
              </th>
              <td>{numbers.format(row.messages)}</td>
              <td>{numbers.format(row.input_tokens)}</td>
              <td>{numbers.format(row.output_tokens)}</td>
              <td>{numbers.format(row.title_input_tokens + row.title_output_tokens)}</td>
              <td>{row.cost_usd === null ? "—" : money.format(row.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Tokens per day over the last 30 days (a chart), and the same days per user and per model (tables). */
export function UsageSection() {
  const { t } = useTranslation(ADMIN_NS);
  const { from, to } = last30Days();
  const byDay = useUsageReport("day", from, to);
  const byUser = useUsageReport("user", from, to);
  const byModel = useUsageReport("model", from, to);
  const failed = byDay.error ?? byUser.error ?? byModel.error;
  return (
    <section className="admin-section" aria-labelledby="admin-usage">
      <h2 id="admin-usage">{t("usage.heading")}</h2>
      {failed && (
        <p className="form-error" role="alert">
          {t("error", { message: failed.message })}
        </p>
      )}
      <h3>{t("usage.chartTitle")}</h3>
      {byDay.data && <TokenChart days={dailyTotals(byDay.data.rows, byDay.data.start, byDay.data.end)} />}
      {byDay.data?.rows.length === 0 && <p className="muted">{t("usage.empty")}</p>}
      {(["user", "model"] as const).map((group) => {
        const report = group === "user" ? byUser.data : byModel.data;
        return (
          <div key={group} className="admin-subsection">
            <div className="admin-subsection-head">
              <h3>{t(group === "user" ? "usage.byUser" : "usage.byModel")}</h3>
              <button type="button" className="button small" onClick={() => void downloadCsv(group, from, to)}>
                {t("usage.csv")}
              </button>
            </div>
            {report && <UsageTable report={report} group={group} />}
          </div>
        );
      })}
    </section>
  );
}
