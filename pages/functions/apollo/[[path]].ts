// /apollo/* on the Pages origin → the Worker (see ../_forward.ts).
import { forward } from "../_forward";

export const onRequest = forward;
