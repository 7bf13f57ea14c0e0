import { useTranslation } from "react-i18next";
import { ADMIN_NS } from "../admin-i18n";
import type { UsageRow } from "../types";

const WIDTH = 720;
const HEIGHT = 200;
const AXIS = 44; // room on the left for the scale
const BOTTOM = 20; // room below for the dates

export interface DayTotal {
  day: string;
  input: number;
  output: number;
  titles: number;
}

/** Every day from `start` to `end` (YYYY-MM-DD, UTC), with the report's counts (0 for a day without a row). */
export function dailyTotals(rows: UsageRow[], start: string, end: string): DayTotal[] {
  const byDay = new Map(rows.map((row) => [row.key, row]));
  const days: DayTotal[] = [];
  for (let day = new Date(`${start}T00:00:00Z`); day <= new Date(`${end}T00:00:00Z`); ) {
    const key = day.toISOString().slice(0, 10);
    const row = byDay.get(key);
    days.push({
      day: key,
      input: row?.input_tokens ?? 0,
      output: row?.output_tokens ?? 0,
      titles: (row?.title_input_tokens ?? 0) + (row?.title_output_tokens ?? 0),
    });
    day = new Date(day.getTime() + 86_400_000);
  }
  return days;
}

/** A scale top that reads well: 1, 2 or 5 times a power of ten, at least the highest value. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * power).find((candidate) => candidate >= value) ?? 10 * power;
}

/** Stacked bars (input, output, titles) of tokens per day, drawn by hand in SVG. */
export function TokenChart({ days }: { days: DayTotal[] }) {
  const { t, i18n } = useTranslation(ADMIN_NS);
  const numbers = new Intl.NumberFormat(i18n.language, { notation: "compact" });
  const exact = new Intl.NumberFormat(i18n.language);
  const totals = days.map((day) => day.input + day.output + day.titles);
  const top = niceMax(Math.max(0, ...totals));
  const plotHeight = HEIGHT - BOTTOM;
  const slot = (WIDTH - AXIS) / Math.max(1, days.length);
  const barWidth = Math.max(2, slot * 0.7);
  const y = (value: number) => plotHeight - (value / top) * (plotHeight - 8);
  const label = t("usage.chartLabel", {
    from: days[0]?.day ?? "",
    to: days.at(-1)?.day ?? "",
    total: exact.format(totals.reduce((sum, value) => sum + value, 0)),
    max: exact.format(Math.max(0, ...totals)),
  });
  return (
    <figure className="token-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} data-testid="token-chart">
        {[0, 0.5, 1].map((fraction) => (
          <g key={fraction} className="chart-grid">
            <line x1={AXIS} x2={WIDTH} y1={y(top * fraction)} y2={y(top * fraction)} />
            <text x={AXIS - 6} y={y(top * fraction) + 4} textAnchor="end">
              {numbers.format(top * fraction)}
            </text>
          </g>
        ))}
        {days.map((day, index) => {
          const x = AXIS + index * slot + (slot - barWidth) / 2;
          let base = 0;
          const parts = (["input", "output", "titles"] as const).map((part) => {
            const bottom = base;
            base += day[part];
            return { part, from: bottom, to: base };
          });
          return (
            <g key={day.day} className="chart-bar" data-day={day.day} data-tokens={totals[index]}>
              <title>
                {t("usage.barLabel", {
                  day: day.day,
                  tokens: exact.format(totals[index] ?? 0),
                  input: exact.format(day.input),
                  output: exact.format(day.output),
                  titles: exact.format(day.titles),
                })}
              </title>
              {parts
                .filter((piece) => piece.to > piece.from)
                .map((piece) => (
                  <rect
                    key={piece.part}
                    className={`bar-${piece.part}`}
                    x={x}
                    width={barWidth}
                    y={y(piece.to)}
                    height={y(piece.from) - y(piece.to)}
                  />
                ))}
              {(index === 0 || index === days.length - 1 || index % 7 === 0) && (
                <text x={x + barWidth / 2} y={HEIGHT - 4} textAnchor="middle" className="chart-date">
                  {day.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="chart-legend">
        <span className="legend-input">{t("usage.input")}</span>
        <span className="legend-output">{t("usage.output")}</span>
        <span className="legend-titles">{t("usage.titles")}</span>
      </figcaption>
    </figure>
  );
}
