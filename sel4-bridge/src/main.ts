/**
 * The launcher's command line, which `dregg firmament ...` runs (core's CLI spawns this file, so core
 * never imports sel4-bridge):
 *   firmament up [--json] [--origin ORIGIN ...] [--relay MULTIADDR ...]
 *                                                 boot, open the bridge, print how to reach it, run until a
 *                                                 signal; with --relay, uplinks reach cells on that relay
 *   firmament selftest [--json]                   exit 0 only if every step behaves
 */
import { parseArgs } from 'node:util';
import { isDreggError } from '@cipherclerk/core';
import { DEFAULT_ORIGINS } from './bridge.ts';
import { launch } from './launch.ts';
import { selftest } from './selftest.ts';
import { type RelayUplink, relayUplink } from './uplink.ts';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      origin: { type: 'string', multiple: true },
      relay: { type: 'string', multiple: true },
    },
  });
  const json = values.json === true;
  const [command] = positionals;
  if (command === 'up') {
    const uplink: RelayUplink | undefined =
      values.relay === undefined ? undefined : await relayUplink(values.relay);
    const fw = await launch({
      origins: [...DEFAULT_ORIGINS, ...(values.origin ?? [])],
      ...(uplink === undefined ? {} : { forward: uplink.forward }),
    }).catch(async (e: unknown) => {
      await uplink?.close();
      throw e;
    });
    const info = {
      bridge: fw.bridge.url,
      token: fw.bridge.token,
      bootMs: Math.round(fw.kernel.bootMs * 10) / 10,
      ...(uplink === undefined
        ? {}
        : { uplink: { relay: uplink.relay, did: uplink.did, cell: uplink.cell } }),
    };
    const uplinkLine =
      uplink === undefined ? '' : `  uplink agent ${uplink.did}, cell ${uplink.cell} at ${uplink.relay}\n`;
    process.stdout.write(
      json
        ? `${JSON.stringify(info)}\n`
        : `firmament up in ${info.bootMs} ms\n  bridge ${info.bridge}\n  token  ${info.token}\n${uplinkLine}(Ctrl-C stops it)\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      void fw.kernel.exited.then(() => resolve());
    });
    await fw.stop();
    await uplink?.close();
    return 0;
  }
  if (command === 'selftest') {
    const result = await selftest();
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      for (const s of result.steps)
        process.stdout.write(`${s.ok ? 'ok  ' : 'FAIL'} ${s.step}: ${s.detail}\n`);
      process.stdout.write(
        `${result.ok ? 'selftest passed' : 'selftest FAILED'} (boot ${result.bootMs.toFixed(1)} ms)\n`,
      );
    }
    return result.ok ? 0 : 1;
  }
  process.stderr.write(
    'usage: dregg firmament up [--json] [--origin ORIGIN ...] [--relay MULTIADDR ...] | selftest [--json]\n',
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const error = isDreggError(e) ? e.toJSON() : { code: 'E_INTERNAL', message: String(e) };
    process.stderr.write(`${JSON.stringify({ error })}\n`);
    process.exitCode = 2;
  },
);
