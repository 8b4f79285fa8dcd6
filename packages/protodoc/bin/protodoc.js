#!/usr/bin/env node
// On Node >= 22.1, V8's compiled code for the modules imported below is kept across runs (in the OS temp
// directory; NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1 turns it off). It must be on before they
// load, hence the dynamic import. Node 20 has no such cache, and this is a no-op there.
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli.js');
