#!/usr/bin/env node
// lanwatch runs from its TypeScript sources: tsx compiles them on load (cached), so what
// is deployed is what is reviewed. Registering here, not with --import, resolves tsx from
// this package wherever the command is started from.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
