export { ABI_VERSION, abiHeader } from './abi.ts';
export { type Bridge, DEFAULT_ORIGINS, openBridge } from './bridge.ts';
export { buildImage, ELF, HEADER } from './build.ts';
export { bootKernel, type Kernel } from './kernel.ts';
export { type Launch, launch } from './launch.ts';
export { selftest } from './selftest.ts';
export { type RelayUplink, relayUplink, UPLINK_FIELD } from './uplink.ts';
