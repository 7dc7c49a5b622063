/** A running firmament: the kernel under QEMU and its bridge, started and stopped together. */
import { type Bridge, type BridgeOptions, openBridge } from './bridge.ts';
import { bootKernel, type Kernel } from './kernel.ts';

export interface Launch {
  readonly kernel: Kernel;
  readonly bridge: Bridge;
  stop(): Promise<void>;
}

export async function launch(options: BridgeOptions & { elf?: string } = {}): Promise<Launch> {
  const kernel = await bootKernel({ elf: options.elf });
  try {
    const bridge = await openBridge(kernel, options);
    return {
      kernel,
      bridge,
      async stop() {
        await bridge.close();
        await kernel.halt();
      },
    };
  } catch (e) {
    await kernel.halt();
    throw e;
  }
}
