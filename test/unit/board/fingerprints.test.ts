import { describe, it, expect } from 'vitest';
import { BOARD_FINGERPRINTS, type BoardFingerprint } from '../../../board/fingerprints.ts';
import { bestFingerprint, detectBoard, matchFingerprint, readBoardFacts, type BoardDetection } from '../../../board/detect.ts';
import { fixture } from './fixtures.ts';

/** Every fixture tree that names a board, with the row it must hit and what detection returns. */
const CASES: { dir: string; product: string; expected: BoardDetection }[] = [
  { dir: 'rpi5-bridge', product: 'Raspberry Pi 5 Model B', expected: { family: 'rpi5', model: 'Raspberry Pi 5 Model B Rev 1.0', source: 'device-tree' } },
  { dir: 'rpi-cm5-ipv6only', product: 'Raspberry Pi Compute Module 5', expected: { family: 'rpi5', model: 'Raspberry Pi Compute Module 5 Rev 1.0', source: 'device-tree' } },
  { dir: 'rpi4-router', product: 'Raspberry Pi 4 Model B', expected: { family: 'rpi4', model: 'Raspberry Pi 4 Model B Rev 1.4', source: 'device-tree' } },
  { dir: 'rpi-cm4-reverse', product: 'Raspberry Pi Compute Module 4', expected: { family: 'rpi4', model: 'Raspberry Pi Compute Module 4 Rev 1.0', source: 'device-tree' } },
  { dir: 'rpi400-host', product: 'Raspberry Pi 400', expected: { family: 'rpi4', model: 'Raspberry Pi 400 Rev 1.0', source: 'device-tree' } },
  { dir: 'rpi3-pppoe', product: 'Raspberry Pi (other)', expected: { family: 'rpi', model: 'Raspberry Pi 3 Model B Plus Rev 1.3', source: 'device-tree' } },
  { dir: 'openwrt-rpi5', product: 'Raspberry Pi 5 / CM5 (OpenWrt)', expected: { family: 'rpi5', model: 'raspberrypi,5-model-b', source: 'openwrt' } },
  { dir: 'openwrt-rpi4', product: 'Raspberry Pi 4 / CM4 / 400 (OpenWrt)', expected: { family: 'rpi4', model: 'raspberrypi,4-model-b', source: 'openwrt' } },
  { dir: 'openwrt-rpi3', product: 'Raspberry Pi (other, OpenWrt)', expected: { family: 'rpi', model: 'raspberrypi,3-model-b-plus', source: 'openwrt' } },
  { dir: 'openwrt-mt6000', product: 'OpenWrt board', expected: { family: 'openwrt', model: 'glinet,gl-mt6000', source: 'openwrt' } },
  { dir: 'openwrt-bpi-r3', product: 'OpenWrt board', expected: { family: 'openwrt', model: 'bananapi,bpi-r3', source: 'openwrt' } },
  { dir: 'openwrt-e8450', product: 'OpenWrt board', expected: { family: 'openwrt', model: 'linksys,e8450-ubi', source: 'openwrt' } },
  { dir: 'openwrt-container', product: 'OpenWrt (release file)', expected: { family: 'openwrt', model: 'OpenWrt', source: 'openwrt' } },
];

describe('board fingerprints', () => {
  for (const c of CASES) {
    it(`${c.dir} hits "${c.product}"`, async () => {
      const hit = bestFingerprint(await readBoardFacts(fixture(c.dir)));
      expect(hit?.fingerprint.product).toBe(c.product);
      expect(await detectBoard(fixture(c.dir))).toEqual(c.expected);
    });
  }

  it('has a fixture for every row', async () => {
    const hit = new Set<BoardFingerprint>();
    for (const c of CASES) {
      const m = bestFingerprint(await readBoardFacts(fixture(c.dir)));
      if (m) hit.add(m.fingerprint);
    }
    const missing = BOARD_FINGERPRINTS.filter((fp) => !hit.has(fp)).map((fp) => fp.product);
    expect(missing).toEqual([]);
  });

  it('names each product once', () => {
    const products = BOARD_FINGERPRINTS.map((fp) => fp.product);
    expect(new Set(products).size).toBe(products.length);
  });

  it('lets the specific row beat the family row that also matches', () => {
    const model = 'Raspberry Pi 4 Model B Rev 1.4';
    const matching = BOARD_FINGERPRINTS.filter(
      (fp) => fp.source === 'device-tree' && (typeof fp.match === 'string' ? model.startsWith(fp.match) : fp.match.test(model)),
    );
    expect(matching.map((fp) => fp.family).sort()).toEqual(['rpi', 'rpi4']);
    expect(matchFingerprint('device-tree', model)?.family).toBe('rpi4');
  });

  it('keeps the Pi 500 and a Pi 5-like prefix apart from the Pi 5 rows', () => {
    expect(matchFingerprint('device-tree', 'Raspberry Pi 500 Rev 1.0')?.family).toBe('rpi');
    expect(matchFingerprint('openwrt-board', 'raspberrypi,500')?.family).toBe('rpi');
    expect(matchFingerprint('openwrt-board', 'raspberrypi,400')?.family).toBe('rpi4');
    expect(matchFingerprint('openwrt-board', 'raspberrypi,4-compute-module')?.family).toBe('rpi4');
  });

  it('matches rows only against their own source', () => {
    expect(matchFingerprint('device-tree', 'glinet,gl-mt6000')).toBeNull();
    expect(matchFingerprint('device-tree', 'GL.iNet GL-MT6000')).toBeNull();
    expect(matchFingerprint('openwrt-board', 'Raspberry Pi 4 Model B Rev 1.4')?.family).toBe('openwrt');
  });

  it('prefers the higher score across sources, OpenWrt on a tie', () => {
    // OpenWrt on a Pi 4 without /tmp/sysinfo: the device tree (20) beats the release file (1).
    expect(
      bestFingerprint({ deviceTreeModel: 'Raspberry Pi 4 Model B Rev 1.4', openwrtBoardName: null, openwrtReleaseId: 'OpenWrt' })
        ?.fingerprint.source,
    ).toBe('device-tree');
    expect(
      bestFingerprint({ deviceTreeModel: 'Raspberry Pi 4 Model B Rev 1.4', openwrtBoardName: 'raspberrypi,4-model-b', openwrtReleaseId: 'OpenWrt' })
        ?.fingerprint.source,
    ).toBe('openwrt-board');
  });
});
