#ifndef PRIVET_CLINUX_H
#define PRIVET_CLINUX_H
// What Swift cannot reach of Linux's TUN driver: the ioctl numbers and flags are macros the
// importer drops, and ioctl itself is variadic; nor UDP's control messages (CMSG_* macros). And
// the GNU extensions the importer does not see (they need _GNU_SOURCE): pipe2, posix_spawn's
// closefrom.
#include <stdint.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

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
/// TUN_F_TSO6 when `segmentation` is nonzero; and TUN_F_USO4, TUN_F_USO6, UDP super-datagrams,
/// when `udp_segmentation` is too). Returns 0 or -errno (EINVAL: a flag this kernel lacks).
int privet_tun_set_offload(int fd, int segmentation, int udp_segmentation);

/// Receives a datagram, or on a socket with UDP_GRO on, a run of one sender's datagrams the
/// kernel kept together: all `*segment_size` bytes but the last (0: a single datagram). Fills in
/// the sender. Returns the bytes received, or -errno.
ssize_t privet_udp_receive_segments(int fd, void *buffer, size_t length, struct sockaddr *peer, socklen_t *peer_length,
                                    int *segment_size);

/// Sends `buffer` on a connected UDP socket as datagrams of `segment_size` bytes, the last
/// maybe shorter, cut by the kernel (UDP_SEGMENT, Linux 4.18+). Returns the bytes sent, or -errno.
ssize_t privet_udp_send_segments(int fd, const void *buffer, size_t length, uint16_t segment_size);

/// Enters the network namespace whose file (/run/netns/NAME) is open as `fd` (setns). Returns
/// 0 or -errno.
int privet_enter_netns(int fd);

/// A pipe whose two ends close on exec (pipe2 with O_CLOEXEC). Returns 0 or -errno.
int privet_pipe_cloexec(int fds[2]);

/// Makes a spawned child close every descriptor from `low` up
/// (posix_spawn_file_actions_addclosefrom_np). Returns 0 or an error number.
int privet_spawn_close_from(posix_spawn_file_actions_t *actions, int low);
#endif
