// The engine in a child process that a test can SIGKILL: runs the built package (dist/, made by `npx tsc -b`) once
// with the JSON engine options in argv[2] and prints the report as JSON.
import { runOnce } from '../../dist/index.js';

const report = await runOnce(JSON.parse(process.argv[2] ?? '{}'));
process.stdout.write(JSON.stringify(report));
