#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

// UDP's offloads reach a program through control messages, whose macros (CMSG_*) Swift's
// importer drops.

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

ssize_t privet_udp_receive_segments(int fd, void *buffer, size_t length, struct sockaddr *peer, socklen_t *peer_length,
                                    int *segment_size) {
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec part = { .iov_base = buffer, .iov_len = length };
    struct msghdr message = { .msg_name = peer, .msg_namelen = *peer_length, .msg_iov = &part, .msg_iovlen = 1,
                              .msg_control = control, .msg_controllen = sizeof control };
    ssize_t count = recvmsg(fd, &message, 0);
    if (count < 0) return -errno;
    *peer_length = message.msg_namelen;
    *segment_size = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == IPPROTO_UDP && header->cmsg_type == UDP_GRO) memcpy(segment_size, CMSG_DATA(header), sizeof(int));
    }
    return count;
}

ssize_t privet_udp_send_segments(int fd, const void *buffer, size_t length, uint16_t segment_size) {
    char control[CMSG_SPACE(sizeof(uint16_t))];
    memset(control, 0, sizeof control);
    struct iovec part = { .iov_base = (void *)buffer, .iov_len = length };
    struct msghdr message = { .msg_iov = &part, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = IPPROTO_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(header), &segment_size, sizeof segment_size);
    ssize_t count = sendmsg(fd, &message, MSG_NOSIGNAL);
    return count < 0 ? -errno : count;
}
