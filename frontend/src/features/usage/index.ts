export { DailyUsage } from "./components/DailyUsage";
export { useRefreshUsage } from "./hooks";
export type { Usage } from "./types";
