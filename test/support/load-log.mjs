// `node --import ./test/support/load-log.mjs ...`: appends the URL of every module the
// process resolves to the file TEEIO_LOAD_LOG names, so a test can see what a command loaded.
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from 'node:fs';
const log = ${JSON.stringify(process.env.TEEIO_LOAD_LOG ?? '')};
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (log) appendFileSync(log, r.url + '\\n');
  return r;
}
`)}`,
);
