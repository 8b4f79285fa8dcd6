#!/usr/bin/env node
// src/launch.cts: the CLI from its one-file bundle with V8's code cache, or from dist/cli.js. CommonJS
// (bin/package.json), so that Node starts without its ES module loader.
require('../dist/launch.cjs');
