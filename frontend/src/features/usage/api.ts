import { apiJson } from "../../lib/api-client";
import type { Usage } from "./types";

export const getUsage = () => apiJson<Usage>("/api/usage");
