import { query } from "@solidjs/router";
import { fetchCredits, fetchLedger } from "../api";

export const getCredits = query((days: number) => fetchCredits(days), "credits");
export const getLedger = query((page: number) => fetchLedger({ page, per_page: 25 }), "ledger");
