// `npm run db:seed`: seed the demo workspace into the app `npm start` is serving (PORT, default 8787).
// `npm start` already does this on every start; this is for a local database you reset by hand.
import { seedDemo } from "./seed-demo.mjs";

const base = `http://localhost:${process.env.PORT ?? 8787}`;
const up = await fetch(`${base}/api/me`).then(
  () => true,
  () => false,
);
if (!up) {
  console.error(`No app answers at ${base}. Start it with \`npm start\` (which seeds by itself), then run this again.`);
  process.exit(1);
}
process.exit((await seedDemo(base)) ? 0 : 1);
