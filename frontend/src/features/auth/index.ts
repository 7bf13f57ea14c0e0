export { useAuth } from "./auth-context";
export type { AuthState } from "./auth-context";
export { AuthProvider } from "./components/AuthProvider";
export { RequireAuth } from "./components/RequireAuth";
export type { User } from "./types";
export { useHealth } from "./hooks";
