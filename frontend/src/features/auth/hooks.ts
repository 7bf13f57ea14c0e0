import { useQuery } from "@tanstack/react-query";
import { getHealth } from "./api";

/** The server's public facts: sign-up, sharing and API keys switched on or off. */
export function useHealth() {
  return useQuery({ queryKey: ["health"], queryFn: getHealth, staleTime: 60_000 });
}
