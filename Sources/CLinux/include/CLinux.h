#ifndef PRIVET_CLINUX_H
#define PRIVET_CLINUX_H
// What Swift cannot reach of Linux's TUN driver: the ioctl numbers and flags are macros the
// importer drops, and ioctl itself is variadic. And the GNU extensions the importer does not
// see (they need _GNU_SOURCE): pipe2, posix_spawn's closefrom.
#include <stdint.h>
#include <spawn.h>
#include <sys/epoll.h>

/// Opens /dev/net/tun and attaches it to a layer-3 TUN device named `name` (created if missing),
/// without the packet-information header; with `multi_queue`, as one more queue of the device
/// (IFF_MULTI_QUEUE: each open is a queue, up to 256). Returns the file descriptor, or -errno.
int privet_tun_open(const char *name, int vnet_header, int multi_queue);

/// Makes the multi-queue TUN device of `fd` hand each packet a host sends to the queue of the
/// worker (of `workers`, at least 2) that owns its flow, by an eBPF steering program
/// (TUNSETSTEERINGEBPF). Returns 0 or -errno.
int privet_tun_steer_by_flow(int fd, unsigned int workers);

/// A non-blocking eventfd closed on exec (the flags are macros). Returns it, or -errno.
int privet_eventfd(void);

/// Sets the offloads the device may hand over (TUNSETOFFLOAD with TUN_F_CSUM, TUN_F_TSO4,
/// TUN_F_TSO6 when `segmentation` is nonzero). Returns 0 or -errno.
int privet_tun_set_offload(int fd, int segmentation);

/// Enters the network namespace whose file (/run/netns/NAME) is open as `fd` (setns). Returns
/// 0 or -errno.
int privet_enter_netns(int fd);

/// A pipe whose two ends close on exec (pipe2 with O_CLOEXEC). Returns 0 or -errno.
int privet_pipe_cloexec(int fds[2]);

/// Makes a spawned child close every descriptor from `low` up
/// (posix_spawn_file_actions_addclosefrom_np). Returns 0 or an error number.
int privet_spawn_close_from(posix_spawn_file_actions_t *actions, int low);
#endif
