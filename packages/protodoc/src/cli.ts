// Placeholder until the CLI lands; keeps `npx protodoc` resolvable after `npm ci`.
console.log('protodoc: not built yet');
