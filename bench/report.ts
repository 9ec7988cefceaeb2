/** One line per figure, the format `npm run bench` collects: `bench <name>: <value> <unit>`. */
export function report(name: string, value: number, unit: string): void {
  const v = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1);
  console.log(`bench ${name}: ${v} ${unit}`);
}
