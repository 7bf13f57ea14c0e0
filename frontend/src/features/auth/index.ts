export { useAuth } from "./auth-context";
export type { AuthState } from "./auth-context";
export { AuthPage } from "./components/AuthPage";
export { AuthProvider } from "./components/AuthProvider";
export { ChangePasswordDialog } from "./components/ChangePasswordDialog";
export { RequireAuth } from "./components/RequireAuth";
export type { User } from "./types";
export { useHealth } from "./hooks";
