#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <spawn.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

int privet_tun_open(const char *name, int vnet_header, int multi_queue) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet_header ? IFF_VNET_HDR : 0) | (multi_queue ? IFF_MULTI_QUEUE : 0);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &request) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

// UDP segmentation offload (Linux 6.2+); older headers lack the names.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

int privet_tun_set_offload(int fd, int segmentation, int udp_segmentation) {
    unsigned int flags = segmentation ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
    if (segmentation && udp_segmentation) flags |= TUN_F_USO4 | TUN_F_USO6;
    if (ioctl(fd, TUNSETOFFLOAD, flags) < 0) return -errno;
    return 0;
}

int privet_enter_netns(int fd) {
    if (setns(fd, CLONE_NEWNET) < 0) return -errno;
    return 0;
}

int privet_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int privet_spawn_close_from(posix_spawn_file_actions_t *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np(actions, low);
}

int privet_eventfd(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

// The steering program of a multi-queue TUN device (TUNSETSTEERINGEBPF): the kernel runs it on
// each packet a host sends and reads the packet from the queue it returns, modulo the queues.
// It returns the worker that owns the packet's flow by the rule of the dataplane's
// Sharding.swift: the higher of the two ports through SplitMix64's finaliser, modulo the
// workers; a GENEVE datagram by the IPv4 packet inside it. What it cannot read returns 0, and
// worker 0 hands it on as it would any packet of another worker's flow.

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9 };
enum { ZERO, VERSION6, PORTS, TRANSPORT, GENEVE, LABELS };

struct program {
    struct bpf_insn code[96];
    int count;
    int labels[LABELS];
    struct { int at; int label; } jumps[32];
    int jumpCount;
};

static void emit(struct program *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn insn = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
    p->code[p->count++] = insn;
}
static void label(struct program *p, int name) { p->labels[name] = p->count; }
/// A conditional jump on `reg` against `imm` (or an unconditional one) to a label, fixed up later.
static void jump(struct program *p, uint8_t op, uint8_t reg, int32_t imm, int name) {
    p->jumps[p->jumpCount].at = p->count;
    p->jumps[p->jumpCount++].label = name;
    emit(p, BPF_JMP | op | BPF_K, reg, 0, 0, imm);
}
static void loadWide(struct program *p, uint8_t reg, uint64_t value) {
    emit(p, BPF_LD | BPF_DW | BPF_IMM, reg, 0, 0, (int32_t)(uint32_t)value);
    emit(p, 0, 0, 0, 0, (int32_t)(uint32_t)(value >> 32));
}
/// r0 = the packet's byte or half-word at the network header + `offset` (+ `index` register).
static void loadAbsolute(struct program *p, uint8_t size, int32_t offset) { emit(p, BPF_LD | BPF_ABS | size, 0, 0, 0, SKF_NET_OFF + offset); }
static void loadIndexed(struct program *p, uint8_t size, uint8_t index, int32_t offset) {
    emit(p, BPF_LD | BPF_IND | size, 0, index, 0, SKF_NET_OFF + offset);
}
static void alu(struct program *p, uint8_t op, uint8_t dst, int32_t imm) { emit(p, BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
static void aluRegister(struct program *p, uint8_t op, uint8_t dst, uint8_t src) { emit(p, BPF_ALU64 | op | BPF_X, dst, src, 0, 0); }

static void steeringProgram(struct program *p, unsigned int workers) {
    memset(p, 0, sizeof *p);
    aluRegister(p, BPF_MOV, R6, R1);                 // the packet loads read the context in r6
    loadAbsolute(p, BPF_B, 0);
    alu(p, BPF_RSH, R0, 4);
    jump(p, BPF_JEQ, R0, 6, VERSION6);
    jump(p, BPF_JNE, R0, 4, ZERO);
    loadAbsolute(p, BPF_H, 6);                       // a fragment after the first has no ports
    alu(p, BPF_AND, R0, 0x1FFF);
    jump(p, BPF_JNE, R0, 0, ZERO);
    loadAbsolute(p, BPF_B, 9);
    aluRegister(p, BPF_MOV, R8, R0);                 // r8: the protocol
    loadAbsolute(p, BPF_B, 0);
    alu(p, BPF_AND, R0, 0x0F);
    alu(p, BPF_LSH, R0, 2);
    aluRegister(p, BPF_MOV, R9, R0);                 // r9: where the transport header starts
    jump(p, BPF_JA, 0, 0, PORTS);
    label(p, VERSION6);                              // extension headers are not followed
    loadAbsolute(p, BPF_B, 6);
    aluRegister(p, BPF_MOV, R8, R0);
    alu(p, BPF_MOV, R9, 40);
    label(p, PORTS);
    jump(p, BPF_JEQ, R8, 6, TRANSPORT);
    jump(p, BPF_JNE, R8, 17, ZERO);
    loadIndexed(p, BPF_H, R9, 2);                    // GENEVE (UDP port 6081): the packet inside
    jump(p, BPF_JEQ, R0, 6081, GENEVE);
    label(p, TRANSPORT);
    loadIndexed(p, BPF_H, R9, 0);
    aluRegister(p, BPF_MOV, R7, R0);
    loadIndexed(p, BPF_H, R9, 2);
    emit(p, BPF_JMP | BPF_JGE | BPF_X, R0, R7, 1, 0); // r0 = the higher port
    aluRegister(p, BPF_MOV, R0, R7);
    aluRegister(p, BPF_MOV, R1, R0);                 // SplitMix64's finaliser
    alu(p, BPF_RSH, R1, 30);
    aluRegister(p, BPF_XOR, R0, R1);
    loadWide(p, R1, 0xBF58476D1CE4E5B9ULL);
    aluRegister(p, BPF_MUL, R0, R1);
    aluRegister(p, BPF_MOV, R1, R0);
    alu(p, BPF_RSH, R1, 27);
    aluRegister(p, BPF_XOR, R0, R1);
    loadWide(p, R1, 0x94D049BB133111EBULL);
    aluRegister(p, BPF_MUL, R0, R1);
    aluRegister(p, BPF_MOV, R1, R0);
    alu(p, BPF_RSH, R1, 31);
    aluRegister(p, BPF_XOR, R0, R1);
    alu(p, BPF_MOD, R0, (int32_t)workers);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    label(p, GENEVE);                                // 8 bytes of UDP, 8 of GENEVE and its options
    loadIndexed(p, BPF_B, R9, 8);
    alu(p, BPF_AND, R0, 0x3F);
    alu(p, BPF_LSH, R0, 2);
    alu(p, BPF_ADD, R0, 16);
    aluRegister(p, BPF_ADD, R9, R0);                 // r9: the inner IPv4 header
    loadIndexed(p, BPF_B, R9, 0);
    aluRegister(p, BPF_MOV, R7, R0);
    alu(p, BPF_RSH, R7, 4);
    jump(p, BPF_JNE, R7, 4, ZERO);
    loadIndexed(p, BPF_B, R9, 9);
    aluRegister(p, BPF_MOV, R8, R0);
    loadIndexed(p, BPF_B, R9, 0);
    alu(p, BPF_AND, R0, 0x0F);
    alu(p, BPF_LSH, R0, 2);
    aluRegister(p, BPF_ADD, R9, R0);
    jump(p, BPF_JEQ, R8, 6, TRANSPORT);
    jump(p, BPF_JEQ, R8, 17, TRANSPORT);
    label(p, ZERO);
    alu(p, BPF_MOV, R0, 0);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (int i = 0; i < p->jumpCount; i++) p->code[p->jumps[i].at].off = (int16_t)(p->labels[p->jumps[i].label] - p->jumps[i].at - 1);
}

int privet_tun_steer_by_flow(int fd, unsigned int workers) {
    if (workers < 2) return -EINVAL;
    static struct program program;
    steeringProgram(&program, workers);
    static char log[8192];
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)program.code;
    attr.insn_cnt = (uint32_t)program.count;
    attr.license = (uint64_t)(uintptr_t)"GPL";
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = sizeof log;
    attr.log_level = 1;
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (prog < 0) return -errno;
    int result = ioctl(fd, TUNSETSTEERINGEBPF, &prog) < 0 ? -errno : 0;
    close(prog);  // the device holds the program from here on
    return result;
}
