/**
 * Process entry of `posbridge-server` (started by bin/posbridge-server.js): runs the command line
 * of ./cli.ts on the process arguments and environment and sets the exit code. The only module
 * of the CLI with an effect on import.
 */
import { runCli } from './cli.ts';
import { readProcessEnv } from './config.ts';

const code = await runCli(process.argv.slice(2), readProcessEnv());
if (code !== undefined) process.exitCode = code;
