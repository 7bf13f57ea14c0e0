import { apiJson } from "../../lib/api-client";
import type { Health, Token, User } from "./types";

export const getHealth = () => apiJson<Health>("/api/health");

export const register = (email: string, password: string) =>
  apiJson<User>("/api/auth/register", { method: "POST", json: { email, password } });

export const login = (email: string, password: string) =>
  apiJson<Token>("/api/auth/login", { method: "POST", json: { email, password } });

export const getMe = () => apiJson<User>("/api/auth/me");

export const changePassword = (currentPassword: string, newPassword: string) =>
  apiJson<Token>("/api/auth/password", {
    method: "POST",
    json: { current_password: currentPassword, new_password: newPassword },
  });
