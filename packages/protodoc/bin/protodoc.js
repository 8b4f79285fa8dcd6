#!/usr/bin/env node
// src/launch.ts: the CLI from its one-file bundle with V8's code cache, or from dist/cli.js.
import '../dist/launch.js';
