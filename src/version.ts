// The raftis version, read once from package.json (its only source), for INFO and --version.

import { readFileSync } from 'node:fs';

export const RAFTIS_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
