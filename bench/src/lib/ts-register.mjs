// `node --import ./src/lib/ts-register.mjs`: registers ts-hooks.mjs (see there for why not tsx).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
