/**
 * Generic netlink: resolving a family's id by name, and building the (once-per-plan) requests
 * of a generic netlink family.
 *
 * Generic netlink families (ethtool, nl80211, wireguard, …) get their message type (the family
 * id) assigned at registration, so it differs between kernels and boots (ethtool was 21 on the
 * 6.18 dev VM). The controller family, fixed at GENL_ID_CTRL, maps names to ids:
 * CTRL_CMD_GETFAMILY with CTRL_ATTR_FAMILY_NAME is answered by one CTRL_CMD_NEWFAMILY message
 * carrying CTRL_ATTR_FAMILY_ID (u16), CTRL_ATTR_VERSION (u32) and CTRL_ATTR_OPS: per command its
 * id and GENL_CMD_CAP_* flags, which tell whether the kernel can dump it (net/netlink/genetlink.c
 * ctrl_fill_info). An unknown name is answered with NLMSG_ERROR ENOENT. No privileges needed.
 *
 * Resolution runs once, at start or apply time, on a socket of its own that is closed again.
 */
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_OP_FLAGS,
  CTRL_ATTR_OP_ID,
  CTRL_ATTR_OPS,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  CTRL_CMD_NEWFAMILY,
  CTRL_VERSION,
  ENOENT,
  GENL_HDRLEN,
  GENL_ID_CTRL,
  NETLINK_GENERIC,
  NLA_F_NESTED,
  NLA_HDRLEN,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
} from '../netlink/constants.ts';
import { AttrCursor, MessageCursor, nlmsgErrno, readU16, writeU16, writeU32 } from '../netlink/reader.ts';
import { allocRequest, SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoError, KernelSourceError, malformedError } from './errors.ts';

export interface GenlFamily {
  name: string;
  /** The nlmsg_type of the family's messages. */
  id: number;
  version: number;
  /** GENL_CMD_CAP_* flags of each command the family has, by command number. */
  commands: ReadonlyMap<number, number>;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute, padded to 4 bytes. For requests built once, not per read. */
export function nlattr(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(align4(NLA_HDRLEN + payload.length));
  writeU16(out, NLA_HDRLEN + payload.length, 0);
  writeU16(out, type, 2);
  out.set(payload, NLA_HDRLEN);
  return out;
}

/** A u32 attribute in host byte order (genetlink payloads are host order). */
export function nlattrU32(type: number, value: number): Buffer {
  const payload = Buffer.alloc(4);
  writeU32(payload, value, 0);
  return nlattr(type, payload);
}

/** A NUL-terminated string attribute (NLA_NUL_STRING). */
export function nlattrString(type: number, value: string): Buffer {
  return nlattr(type, Buffer.from(`${value}\0`, 'utf8'));
}

/** A nest. NLA_F_NESTED is set: strictly validated families reject nests without it. */
export function nlattrNest(type: number, children: readonly Buffer[]): Buffer {
  return nlattr(type | NLA_F_NESTED, Buffer.concat(children));
}

/** nlmsghdr + genlmsghdr + `attrs`, sequence number 0 (set per send with setRequestSeq). */
export function allocGenlRequest(familyId: number, flags: number, cmd: number, version: number, attrs: Buffer): Buffer {
  const request = allocRequest(familyId, flags, GENL_HDRLEN + attrs.length);
  request[NLMSG_HDRLEN] = cmd;
  request[NLMSG_HDRLEN + 1] = version;
  attrs.copy(request, NLMSG_HDRLEN + GENL_HDRLEN);
  return request;
}

export function allocGetFamilyRequest(name: string): Buffer {
  return allocGenlRequest(GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY, CTRL_VERSION, nlattrString(CTRL_ATTR_FAMILY_NAME, name));
}

/** Reads a CTRL_CMD_NEWFAMILY message; throws a malformed error when it has no usable id. */
export function parseFamilyMessage(msg: MessageCursor, name: string): GenlFamily {
  const what = `generic netlink family "${name}"`;
  if (msg.length < NLMSG_HDRLEN + GENL_HDRLEN) throw malformedError(what, 'message shorter than its genetlink header');
  if (msg.buf[msg.payloadOffset] !== CTRL_CMD_NEWFAMILY) throw malformedError(what, `controller answered command ${msg.buf[msg.payloadOffset]}`);
  let id = 0;
  let version = 0;
  const commands = new Map<number, number>();
  const attr = new AttrCursor().reset(msg.buf, msg.payloadOffset + GENL_HDRLEN, msg.payloadEnd);
  const op = new AttrCursor();
  const field = new AttrCursor();
  while (attr.next()) {
    if (attr.type === CTRL_ATTR_FAMILY_ID && attr.length >= 2) id = readU16(attr.buf, attr.offset);
    else if (attr.type === CTRL_ATTR_VERSION) version = attr.u32();
    else if (attr.type === CTRL_ATTR_OPS) {
      attr.enter(op);
      while (op.next()) {
        op.enter(field);
        let command = -1;
        let flags = 0;
        while (field.next()) {
          if (field.type === CTRL_ATTR_OP_ID) command = field.u32();
          else if (field.type === CTRL_ATTR_OP_FLAGS) flags = field.u32();
        }
        if (field.problem) throw malformedError(what, `operation list: ${field.problem}`);
        if (command >= 0) commands.set(command, flags);
      }
      if (op.problem) throw malformedError(what, `operation list: ${op.problem}`);
    }
  }
  if (attr.problem) throw malformedError(what, attr.problem);
  if (id === 0) throw malformedError(what, 'no CTRL_ATTR_FAMILY_ID');
  return { name, id, version: Number.isNaN(version) ? 0 : version, commands };
}

export interface ResolveGenlFamilyOptions {
  /** Give up after this long; the kernel answers in microseconds. Default 2000 ms. */
  timeoutMs?: number;
}

/**
 * Resolves `name` on a socket of its own. Rejects with a KernelSourceError: code 'ENOENT' when
 * the kernel has no such family (ethtool: built without CONFIG_ETHTOOL_NETLINK, Linux < 5.6),
 * 'ETIMEDOUT', 'EMALFORMED', or the socket's own error.
 */
export function resolveGenlFamily(
  openTransport: NetlinkTransportFactory,
  name: string,
  options: ResolveGenlFamilyOptions = {},
): Promise<GenlFamily> {
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise<GenlFamily>((resolve, reject) => {
    const seq = new SequenceCounter().next();
    const request = allocGetFamilyRequest(name);
    setRequestSeq(request, seq);
    const messages = new MessageCursor();
    let transport: NetlinkTransport | null = null;
    let settled = false;
    const settle = (error: Error | null, family?: GenlFamily): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      transport?.close();
      if (error) reject(error);
      else resolve(family!);
    };
    const timer = setTimeout(() => {
      settle(new KernelSourceError(`generic netlink family "${name}": no answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
    }, timeoutMs);
    const onDatagram = (datagram: Buffer): void => {
      const msg = messages.reset(datagram);
      while (msg.next()) {
        if (msg.seq !== seq) continue;
        if (msg.type === NLMSG_ERROR) {
          const errno = nlmsgErrno(msg);
          if (errno === ENOENT) {
            settle(new KernelSourceError(`generic netlink family "${name}" is not registered (kernel answered ENOENT)`, 'ENOENT'));
          } else {
            settle(errnoError(`generic netlink CTRL_CMD_GETFAMILY "${name}"`, errno));
          }
          return;
        }
        if (msg.type === GENL_ID_CTRL) {
          try {
            settle(null, parseFamilyMessage(msg, name));
          } catch (error) {
            settle(error as Error);
          }
          return;
        }
      }
      if (msg.problem) settle(malformedError(`generic netlink family "${name}" reply`, msg.problem));
    };
    try {
      transport = openTransport(NETLINK_GENERIC, { onDatagram, onError: (error) => settle(error) });
    } catch (error) {
      settle(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (settled) {
      transport.close();
      return;
    }
    transport.send(request);
  });
}
