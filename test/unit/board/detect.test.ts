import { describe, it, expect } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectBoard, identifyBoard, parseDeviceTreeModel, parseOpenwrtReleaseId, readBoardFacts } from '../../../board/detect.ts';
import { fixture } from './fixtures.ts';

async function withTree(files: Record<string, string>, dirs: string[], fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'lanwatch-board-'));
  try {
    for (const d of dirs) await mkdir(join(root, d), { recursive: true });
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), text);
    }
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('detectBoard', () => {
  it('strips the NUL that ends the device-tree model', async () => {
    const raw = await readFile(fixture('rpi4-router') + '/proc/device-tree/model');
    expect(raw.at(-1)).toBe(0);
    expect((await readBoardFacts(fixture('rpi4-router'))).deviceTreeModel).toBe('Raspberry Pi 4 Model B Rev 1.4');
    expect(parseDeviceTreeModel('Raspberry Pi 5 Model B Rev 1.0\0')).toBe('Raspberry Pi 5 Model B Rev 1.0');
    expect(parseDeviceTreeModel('\0')).toBeNull();
  });

  it('reads board_name without its newline', async () => {
    expect((await readBoardFacts(fixture('openwrt-mt6000'))).openwrtBoardName).toBe('glinet,gl-mt6000');
  });

  it('returns generic with no model on an x86 host', async () => {
    expect(await detectBoard(fixture('x86-generic'))).toEqual({ family: 'generic', model: null, source: 'none' });
  });

  it('returns generic for a root that does not exist', async () => {
    expect(await detectBoard(fixture('no-such-tree'))).toEqual({ family: 'generic', model: null, source: 'none' });
  });

  it('keeps an unknown device-tree model but stays generic', async () => {
    expect(await detectBoard(fixture('armbian-odroid-c4'))).toEqual({
      family: 'generic',
      model: 'Hardkernel ODROID-C4',
      source: 'device-tree',
    });
  });

  it('treats unreadable and empty files as absent', async () => {
    // A directory where the file should be: readFile fails with EISDIR.
    await withTree({ 'tmp/sysinfo/board_name': '\n', 'etc/openwrt_release': "DISTRIB_RELEASE='23.05.3'\n" }, ['proc/device-tree/model'], async (root) => {
      expect(await detectBoard(root)).toEqual({ family: 'generic', model: null, source: 'none' });
    });
  });

  it('finds OpenWrt from the release file alone', async () => {
    await withTree({ 'etc/openwrt_release': 'DISTRIB_ID="ImmortalWrt"\nDISTRIB_RELEASE="23.05.1"\n' }, [], async (root) => {
      expect(await detectBoard(root)).toEqual({ family: 'openwrt', model: 'ImmortalWrt', source: 'openwrt' });
    });
  });

  it('parses DISTRIB_ID quoted or bare', () => {
    expect(parseOpenwrtReleaseId("DISTRIB_RELEASE='1'\nDISTRIB_ID='OpenWrt'\n")).toBe('OpenWrt');
    expect(parseOpenwrtReleaseId('DISTRIB_ID=OpenWrt\n')).toBe('OpenWrt');
    expect(parseOpenwrtReleaseId("DISTRIB_ID=''\n")).toBeNull();
    expect(parseOpenwrtReleaseId("NOT_DISTRIB_ID='x'\n")).toBeNull();
  });

  it('names OpenWrt on a Pi after board_name, with the Pi family', () => {
    expect(
      identifyBoard({ deviceTreeModel: 'Raspberry Pi 5 Model B Rev 1.0', openwrtBoardName: 'raspberrypi,5-model-b', openwrtReleaseId: 'OpenWrt' }),
    ).toEqual({ family: 'rpi5', model: 'raspberrypi,5-model-b', source: 'openwrt' });
  });

  it('lets a known OpenWrt board_name win over an unknown device-tree model', () => {
    expect(
      identifyBoard({ deviceTreeModel: 'GL.iNet GL-MT6000', openwrtBoardName: 'glinet,gl-mt6000', openwrtReleaseId: null }),
    ).toEqual({ family: 'openwrt', model: 'glinet,gl-mt6000', source: 'openwrt' });
  });
});
