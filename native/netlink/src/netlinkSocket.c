/*
 * lanwatch's netlink socket: one AF_NETLINK datagram socket driven by a libuv poll handle,
 * exposed through Node-API (ABI-stable, so one build serves every Node >= 20).
 *
 * Why our own and not the `netlink` npm package we started with:
 *  - On a receive-queue overrun the kernel sets sk_err = ENOBUFS and netlink_poll() reports
 *    EPOLLERR. libuv hands that to a poll callback as UV_EBADF and stops the handle; the
 *    package then threw a C++ exception inside the libuv callback and the process aborted.
 *    Here the pending error is fetched with recv() (which returns and clears it), reported
 *    to JS as ENOBUFS, and polling resumes: the caller resyncs, the agent lives.
 *  - Datagrams are received into one buffer the JS side owns and reuses, instead of a new
 *    32 KiB Buffer per datagram (53 MB of garbage per 250k-entry conntrack dump).
 *  - SO_RCVBUFFORCE (CAP_NET_ADMIN) sizes event sockets past net.core.rmem_max, which is
 *    only 208 KiB on a stock Pi; without the capability we fall back to SO_RCVBUF.
 *  - A dump socket can receive on a thread of its own (a "ring" socket). The kernel builds
 *    each dump batch inside recvmsg(), ~2 µs per conntrack entry; on the event loop that work
 *    and our parsing take turns. With a receive thread the kernel fills the next batches into
 *    free ring slots while JS parses the current one, so a dump takes about as long as the
 *    kernel alone (the C receive-only floor of scripts/bench).
 *
 * Threading: a poll socket lives on the Node main thread only (the poll callback is a libuv
 * callback on the env's loop). A ring socket's thread touches only the fd, the ring slots it
 * owns and the ring state under `lock`; every JS call stays on the main thread.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Datagrams read per poll wakeup before yielding to the event loop. A 250k-entry dump is
 * ~1,700 datagrams; reading all of them in one go would hold off the sampler's timer for
 * hundreds of milliseconds. The poll is level-triggered, so the rest follow next turn. */
#define DATAGRAMS_PER_WAKEUP 16

typedef struct netlink_socket {
  napi_env env;
  int fd;
  int closing;
  int env_gone;            /* the env is being torn down: no more Node-API calls */
  uv_poll_t poll;          /* poll sockets */
  napi_ref receive_buffer; /* keeps the JS Buffer alive while we write into it */
  uint8_t* receive_data;
  size_t slot_bytes;       /* one datagram's room: the whole buffer for a poll socket */
  /* Ring sockets: `slots` slots of slot_bytes in receive_data, filled by `thread`. */
  uint32_t slots;
  int32_t* lengths;        /* per slot: datagram length (> slot_bytes: cut), or -errno */
  uv_mutex_t lock;         /* guards head, count, stopping */
  uv_cond_t space;         /* a slot came free, or stopping */
  uint32_t head, count;
  int stopping;
  int wake_fd;             /* eventfd: wakes the thread out of poll() to stop */
  uv_thread_t thread;
  uv_async_t ready;        /* the thread filled a slot */
  napi_ref on_datagram;    /* (offset: number, length: number, truncatedTo: number) => void */
  napi_ref on_error;       /* (errno: number) => void */
  napi_ref resource;       /* async resource object for napi_make_callback */
  napi_async_context async_context;
} netlink_socket;

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code_value, message_value, error, errno_value;
  const char* name = NULL;
  switch (err) {
    case EPERM: name = "EPERM"; break;
    case EACCES: name = "EACCES"; break;
    case EPROTONOSUPPORT: name = "EPROTONOSUPPORT"; break;
    case EAFNOSUPPORT: name = "EAFNOSUPPORT"; break;
    case EINVAL: name = "EINVAL"; break;
    case ENOENT: name = "ENOENT"; break;
    case EMFILE: name = "EMFILE"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ENOBUFS: name = "ENOBUFS"; break;
    default: name = "EIO"; break;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "lanwatch netlink addon: " #call " failed"); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/* Calls a JS callback from a libuv callback. napi_make_callback opens the callback scope
 * that runs process.nextTick and promise jobs afterwards. A JS exception goes to Node's
 * uncaught-exception path, exactly as if it had been thrown from a JS timer. */
static void call_js(netlink_socket* s, napi_ref callback_ref, size_t argc, const double* args) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, resource, argv[3], result;
  napi_get_reference_value(env, callback_ref, &callback);
  napi_get_reference_value(env, s->resource, &resource);
  for (size_t i = 0; i < argc; i++) napi_create_double(env, args[i], &argv[i]);
  if (napi_make_callback(env, s->async_context, resource, callback, argc, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

static void report_error(netlink_socket* s, int err) {
  double args[1] = { (double)err };
  call_js(s, s->on_error, 1, args);
}

/* Hands one datagram to JS: `length` bytes at `offset` of the receive buffer, or, when the
 * datagram did not fit its room (recv with MSG_TRUNC returns the real length), its real length
 * as truncatedTo, so it is reported as cut instead of being parsed half. */
static void deliver(netlink_socket* s, size_t offset, size_t length) {
  double args[3] = { (double)offset,
                     (double)(length < s->slot_bytes ? length : s->slot_bytes),
                     (double)(length > s->slot_bytes ? length : 0) };
  call_js(s, s->on_datagram, 3, args);
}

/* Poll sockets: reads what is queued, up to DATAGRAMS_PER_WAKEUP datagrams. */
static void drain(netlink_socket* s) {
  for (int i = 0; i < DATAGRAMS_PER_WAKEUP && !s->closing; i++) {
    ssize_t n = recv(s->fd, s->receive_data, s->slot_bytes, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      /* ENOBUFS: events were dropped; the queue still holds what did fit, so keep reading
       * after the report. Anything else is reported once and ends this wakeup. */
      int err = errno;
      report_error(s, err);
      if (err != ENOBUFS) return;
      continue;
    }
    deliver(s, 0, (size_t)n);
  }
}

/* Ring sockets: the receive thread. Waits for a free slot, then for a datagram (or the stop
 * signal), and receives straight into the slot. */
static void receive_thread(void* arg) {
  netlink_socket* s = arg;
  /* Copies: close() resets s->fd before it joins us; both fds stay open until the join. */
  const int fd = s->fd;
  const int wake_fd = s->wake_fd;
  for (;;) {
    uv_mutex_lock(&s->lock);
    while (s->count == s->slots && !s->stopping) uv_cond_wait(&s->space, &s->lock);
    int stopping = s->stopping;
    uint32_t slot = (s->head + s->count) % s->slots;
    uv_mutex_unlock(&s->lock);
    if (stopping) return;
    struct pollfd fds[2] = { { fd, POLLIN, 0 }, { wake_fd, POLLIN, 0 } };
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return; /* cannot happen with two valid fds; the socket just goes quiet */
    }
    if (fds[1].revents != 0) return;
    ssize_t n = recv(fd, s->receive_data + (size_t)slot * s->slot_bytes, s->slot_bytes, MSG_DONTWAIT | MSG_TRUNC);
    int32_t value;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      value = -errno; /* ENOBUFS (POLLERR), reported in order with the datagrams */
    } else {
      value = n > INT32_MAX ? INT32_MAX : (int32_t)n;
    }
    uv_mutex_lock(&s->lock);
    s->lengths[slot] = value;
    s->count++;
    uv_mutex_unlock(&s->lock);
    uv_async_send(&s->ready);
  }
}

/* Ring sockets, main thread: hands the filled slots to JS in order, a slot going back to the
 * thread once its handler has returned (the bytes are only valid during the call). */
static void on_ready(uv_async_t* handle) {
  netlink_socket* s = handle->data;
  for (int i = 0; i < DATAGRAMS_PER_WAKEUP; i++) {
    if (s->closing) return;
    uv_mutex_lock(&s->lock);
    uint32_t filled = s->count;
    uint32_t slot = s->head;
    int32_t value = s->lengths[slot];
    uv_mutex_unlock(&s->lock);
    if (filled == 0) return;
    if (value < 0) report_error(s, -value);
    else deliver(s, (size_t)slot * s->slot_bytes, (size_t)value);
    if (s->closing) return; /* close() has joined the thread: the ring is done */
    uv_mutex_lock(&s->lock);
    s->head = (s->head + 1) % s->slots;
    s->count--;
    uv_cond_signal(&s->space);
    uv_mutex_unlock(&s->lock);
  }
  /* More filled: come back after the event loop had a turn (timers, other sockets). */
  uv_mutex_lock(&s->lock);
  int more = s->count > 0;
  uv_mutex_unlock(&s->lock);
  if (more) uv_async_send(&s->ready);
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  (void)events;
  netlink_socket* s = handle->data;
  if (s->closing) return;
  if (status < 0) {
    /* EPOLLERR (libuv says UV_EBADF and has stopped the handle): a pending socket error,
     * ENOBUFS after an overrun. drain() fetches and reports it, then we poll again. */
    drain(s);
    if (!s->closing) uv_poll_start(&s->poll, UV_READABLE, on_poll);
    return;
  }
  drain(s);
}

static void free_socket(uv_handle_t* handle) {
  netlink_socket* s = handle->data;
  napi_env env = s->env;
  /* At env teardown the references go with the env; touching them could crash. */
  if (!s->env_gone) {
    napi_delete_reference(env, s->receive_buffer);
    napi_delete_reference(env, s->on_datagram);
    napi_delete_reference(env, s->on_error);
    napi_delete_reference(env, s->resource);
    napi_async_destroy(env, s->async_context);
  }
  if (s->slots > 0) {
    uv_mutex_destroy(&s->lock);
    uv_cond_destroy(&s->space);
    free(s->lengths);
  }
  free(s);
}

/* libuv wants the handle out of epoll before the fd goes, so the fd is closed last: uv_close
 * removes a poll handle's fd from epoll synchronously. */
static void close_socket(netlink_socket* s) {
  if (s->closing) return;
  s->closing = 1;
  int fd = s->fd;
  s->fd = -1;
  if (s->slots > 0) {
    /* The thread may wait for a slot (cond) or for data (poll): wake both, then join. */
    uv_mutex_lock(&s->lock);
    s->stopping = 1;
    uv_cond_signal(&s->space);
    uv_mutex_unlock(&s->lock);
    uint64_t one = 1;
    ssize_t ignored = write(s->wake_fd, &one, sizeof one);
    (void)ignored;
    uv_thread_join(&s->thread);
    close(s->wake_fd);
    uv_close((uv_handle_t*)&s->ready, free_socket);
  } else {
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t*)&s->poll, free_socket);
  }
  close(fd);
}

/* A worker thread or the process ending with the socket still open. */
static void cleanup_hook(void* data) {
  netlink_socket* s = data;
  s->env_gone = 1;
  close_socket(s);
}

/* open(protocol, receiveBuffer, rcvbufBytes, groups, onDatagram, onError, slotBytes)
 * -> External. slotBytes < the buffer's length makes a ring socket of length / slotBytes slots. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "open(protocol, receiveBuffer, rcvbufBytes, groups, onDatagram, onError, slotBytes)");
    return NULL;
  }
  int32_t protocol, rcvbuf, slot_bytes;
  uint32_t group_count;
  void* data;
  size_t length;
  CHECK(napi_get_value_int32(env, argv[0], &protocol));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &length));
  CHECK(napi_get_value_int32(env, argv[2], &rcvbuf));
  CHECK(napi_get_array_length(env, argv[3], &group_count));
  CHECK(napi_get_value_int32(env, argv[6], &slot_bytes));
  if (slot_bytes <= 0 || (size_t)slot_bytes > length || length / (size_t)slot_bytes > 4096) {
    napi_throw_range_error(env, NULL, "slotBytes must be > 0, at most the buffer's length, and leave at most 4096 slots");
    return NULL;
  }
  uint32_t slots = (size_t)slot_bytes < length ? (uint32_t)(length / (size_t)slot_bytes) : 0;

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return throw_errno(env, "socket(AF_NETLINK)", errno);
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
    /* EPERM without CAP_NET_ADMIN: the capped variant still helps. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, "setsockopt(SO_RCVBUF)", err);
    }
  }
  struct sockaddr_nl local;
  memset(&local, 0, sizeof local);
  local.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr*)&local, sizeof local) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(AF_NETLINK)", err);
  }
  for (uint32_t i = 0; i < group_count; i++) {
    napi_value item;
    int32_t group;
    if (napi_get_element(env, argv[3], i, &item) != napi_ok || napi_get_value_int32(env, item, &group) != napi_ok) {
      close(fd);
      napi_throw_type_error(env, NULL, "groups must be numbers");
      return NULL;
    }
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, "setsockopt(NETLINK_ADD_MEMBERSHIP)", err);
    }
  }

  netlink_socket* s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->wake_fd = -1;
  s->receive_data = data;
  s->slot_bytes = (size_t)slot_bytes;
  napi_value resource, resource_name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_string_utf8(env, "lanwatch:netlink", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, resource, resource_name, &s->async_context));
  CHECK(napi_create_reference(env, resource, 1, &s->resource));
  CHECK(napi_create_reference(env, argv[1], 1, &s->receive_buffer));
  CHECK(napi_create_reference(env, argv[4], 1, &s->on_datagram));
  CHECK(napi_create_reference(env, argv[5], 1, &s->on_error));

  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (slots > 0) {
    s->slots = slots;
    s->lengths = calloc(slots, sizeof *s->lengths);
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!s->lengths || s->wake_fd < 0) {
      int err = s->lengths ? errno : ENOMEM;
      if (s->wake_fd >= 0) close(s->wake_fd);
      free(s->lengths);
      close(fd);
      free(s);
      return throw_errno(env, "ring socket setup", err);
    }
    uv_mutex_init(&s->lock);
    uv_cond_init(&s->space);
    uv_async_init(loop, &s->ready, on_ready);
    s->ready.data = s;
    int rc = uv_thread_create(&s->thread, receive_thread, s);
    if (rc < 0) {
      /* No thread: close like any ring socket, minus the join. */
      s->closing = 1;
      close(s->wake_fd);
      close(fd);
      uv_close((uv_handle_t*)&s->ready, free_socket);
      return throw_errno(env, "uv_thread_create", -rc);
    }
  } else {
    int rc = uv_poll_init(loop, &s->poll, fd);
    if (rc < 0) {
      close(fd);
      free(s);
      return throw_errno(env, "uv_poll_init", -rc);
    }
    s->poll.data = s;
    uv_poll_start(&s->poll, UV_READABLE, on_poll);
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, s);

  napi_value external;
  CHECK(napi_create_external(env, s, NULL, NULL, &external));
  return external;
}

static netlink_socket* socket_arg(napi_env env, napi_value value) {
  void* s = NULL;
  if (napi_get_value_external(env, value, &s) != napi_ok || !s) {
    napi_throw_type_error(env, NULL, "not a netlink socket");
    return NULL;
  }
  return s;
}

/* send(socket, request) -> 0 or errno. Sends to the kernel never block: the kernel handles
 * the request inside sendmsg (a dump's first batch is queued before it returns). */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  netlink_socket* s = socket_arg(env, argv[0]);
  if (!s) return NULL;
  void* data;
  size_t length;
  napi_typedarray_type type;
  napi_value arraybuffer;
  size_t offset;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, &arraybuffer, &offset));
  int err = 0;
  if (s->closing) {
    err = EBADF;
  } else {
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do sent = sendto(s->fd, data, length, 0, (struct sockaddr*)&kernel, sizeof kernel);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) err = errno;
  }
  CHECK(napi_create_int32(env, err, &result));
  return result;
}

/* close(socket): idempotent; the memory goes when libuv has closed the handle. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  netlink_socket* s = socket_arg(env, argv[0]);
  if (!s) return NULL;
  if (!s->closing) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, s);
    close_socket(s);
  }
  return NULL;
}

/* receiveBufferBytes(socket) -> SO_RCVBUF as the kernel applied it (doubled, maybe capped). */
static napi_value js_receive_buffer_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  netlink_socket* s = socket_arg(env, argv[0]);
  if (!s) return NULL;
  int value = -1;
  socklen_t size = sizeof value;
  if (s->closing || getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &value, &size) < 0) value = -1;
  CHECK(napi_create_int32(env, value, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
    { "receiveBufferBytes", NULL, js_receive_buffer_bytes, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
