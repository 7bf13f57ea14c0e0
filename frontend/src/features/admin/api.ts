import { apiJson } from "../../lib/api-client";
import type { AdminUser, RuntimeSettings, SettingsChange, UsageGroup, UsageReport } from "./types";

export const listUsers = (search: string) =>
  apiJson<AdminUser[]>(`/api/admin/users?limit=1000${search ? `&q=${encodeURIComponent(search)}` : ""}`);

export const createUser = (body: { email: string; password: string; is_admin: boolean }) =>
  apiJson<AdminUser>("/api/admin/users", { method: "POST", json: body });

export const setActive = (id: number, active: boolean) =>
  apiJson<AdminUser>(`/api/admin/users/${id}/${active ? "enable" : "disable"}`, { method: "POST" });

export const resetPassword = (id: number, password: string) =>
  apiJson<AdminUser>(`/api/admin/users/${id}/password`, { method: "POST", json: { new_password: password } });

export const setAdmin = (id: number, admin: boolean) =>
  apiJson<AdminUser>(`/api/admin/users/${id}`, { method: "PATCH", json: { is_admin: admin } });

export const deleteUser = (id: number) => apiJson<void>(`/api/admin/users/${id}`, { method: "DELETE" });

export const usageReport = (group: UsageGroup, from: string, to: string) =>
  apiJson<UsageReport>(`/api/admin/usage?group=${group}&from=${from}&to=${to}`);

export const getSettings = () => apiJson<RuntimeSettings>("/api/admin/settings");

export const putSettings = (change: SettingsChange) =>
  apiJson<RuntimeSettings>("/api/admin/settings", { method: "PUT", json: change });
