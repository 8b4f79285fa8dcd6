// The engine in a child process that a test can SIGKILL: runs the built package (dist/, made by `npx tsc -b`) once
// with the JSON engine options in argv[2], prints each engine event as a JSON line on stderr and the report as JSON
// on stdout.
import { runOnce } from '../../dist/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const report = await runOnce({ ...options, onEvent: (e) => process.stderr.write(`${JSON.stringify(e)}\n`) });
process.stdout.write(JSON.stringify(report));
