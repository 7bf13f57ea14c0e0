export { applyTheme, storedTheme, watchSystemTheme } from "./theme";
export { useAccountLook } from "./use-account-look";
