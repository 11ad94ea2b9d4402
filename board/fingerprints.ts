/**
 * Board fingerprints as data, in the manner of zigbee-herdsman's USB_FINGERPRINTS: one row per
 * product, matched against a string the system exposes. detect.ts reads the strings and picks
 * the matching row with the highest score, so a specific row ("Raspberry Pi 4 Model B") beats a
 * catch-all that also matches ("Raspberry Pi"). Add a board by adding a row and a fixture tree
 * under test/fixtures/board/ (a test fails when a row has no fixture).
 */

/** What the agent needs to know about the hardware to choose a profile. */
export type BoardFamily = 'rpi4' | 'rpi5' | 'rpi' | 'openwrt' | 'generic';

/**
 * Where the matched string comes from:
 * - 'device-tree': /proc/device-tree/model, written by the firmware/bootloader (NUL-terminated).
 * - 'openwrt-board': /tmp/sysinfo/board_name, which OpenWrt's board detection writes at boot
 *   from the first device-tree `compatible` (or DMI on x86), e.g. "glinet,gl-mt6000".
 * - 'openwrt-release': DISTRIB_ID in /etc/openwrt_release. It is there even when /tmp/sysinfo
 *   is not (containers, chroots, before board detection ran), and forks keep the file.
 */
export type FingerprintSource = 'device-tree' | 'openwrt-board' | 'openwrt-release';

export interface BoardFingerprint {
  /** The product, for logs and `agent status`. */
  product: string;
  source: FingerprintSource;
  /** A string is a prefix of the value; a RegExp is tested against the whole value. */
  match: string | RegExp;
  /** Specificity: the highest-scoring matching row wins; equal scores keep table order. */
  score: number;
  family: BoardFamily;
}

/** A product row: one board, named exactly. */
const SPECIFIC = 20;
/** A family row: any board of a vendor line. */
const FAMILY = 10;
/** Any OpenWrt board_name: proves OpenWrt, says nothing about the ports. */
const OPENWRT_ANY = 2;
/** OpenWrt known only from the release file: the weakest evidence we accept. */
const OPENWRT_RELEASE = 1;

export const BOARD_FINGERPRINTS: readonly BoardFingerprint[] = Object.freeze([
  // Raspberry Pi 5 Model B (BCM2712), e.g. "Raspberry Pi 5 Model B Rev 1.0".
  { product: 'Raspberry Pi 5 Model B', source: 'device-tree', match: 'Raspberry Pi 5 Model B', score: SPECIFIC, family: 'rpi5' },
  // Raspberry Pi Compute Module 5 (BCM2712), e.g. "Raspberry Pi Compute Module 5 Rev 1.0";
  // dual-NIC carrier boards make it a common router.
  { product: 'Raspberry Pi Compute Module 5', source: 'device-tree', match: 'Raspberry Pi Compute Module 5', score: SPECIFIC, family: 'rpi5' },
  // Raspberry Pi 4 Model B (BCM2711), e.g. "Raspberry Pi 4 Model B Rev 1.4".
  { product: 'Raspberry Pi 4 Model B', source: 'device-tree', match: 'Raspberry Pi 4 Model B', score: SPECIFIC, family: 'rpi4' },
  // Raspberry Pi Compute Module 4 and 4S (BCM2711), e.g. "Raspberry Pi Compute Module 4 Rev 1.0".
  { product: 'Raspberry Pi Compute Module 4', source: 'device-tree', match: 'Raspberry Pi Compute Module 4', score: SPECIFIC, family: 'rpi4' },
  // Raspberry Pi 400 (BCM2711 in a keyboard), e.g. "Raspberry Pi 400 Rev 1.0".
  { product: 'Raspberry Pi 400', source: 'device-tree', match: 'Raspberry Pi 400', score: SPECIFIC, family: 'rpi4' },
  // Any other Raspberry Pi (3, 3B+, Zero 2 W, 500…), e.g. "Raspberry Pi 3 Model B Plus Rev 1.3".
  { product: 'Raspberry Pi (other)', source: 'device-tree', match: 'Raspberry Pi ', score: FAMILY, family: 'rpi' },

  // OpenWrt's bcm27xx target on a Pi 5 / CM5: "raspberrypi,5-model-b", "raspberrypi,5-compute-module".
  // Same hardware as the device-tree rows, so the same family and score.
  { product: 'Raspberry Pi 5 / CM5 (OpenWrt)', source: 'openwrt-board', match: /^raspberrypi,5-/, score: SPECIFIC, family: 'rpi5' },
  // OpenWrt on a Pi 4 / CM4 / Pi 400: "raspberrypi,4-model-b", "raspberrypi,4-compute-module", "raspberrypi,400".
  { product: 'Raspberry Pi 4 / CM4 / 400 (OpenWrt)', source: 'openwrt-board', match: /^raspberrypi,(4-|400$)/, score: SPECIFIC, family: 'rpi4' },
  // OpenWrt on any other Pi, e.g. "raspberrypi,3-model-b-plus".
  { product: 'Raspberry Pi (other, OpenWrt)', source: 'openwrt-board', match: 'raspberrypi,', score: FAMILY, family: 'rpi' },
  // Any other OpenWrt board: "glinet,gl-mt6000", "bananapi,bpi-r3", "linksys,e8450-ubi", or a
  // DMI-derived name on x86. The ports come from the link inventory, not from this table.
  { product: 'OpenWrt board', source: 'openwrt-board', match: /./, score: OPENWRT_ANY, family: 'openwrt' },
  // OpenWrt or a fork (ImmortalWrt keeps the file name) without /tmp/sysinfo.
  { product: 'OpenWrt (release file)', source: 'openwrt-release', match: /./, score: OPENWRT_RELEASE, family: 'openwrt' },
]);
