/*
 * vmiso-canary: what vmiso runs on a real host for the length of a run, so that the guest's
 * reach probes are heard (or not) there and its probe packets are seen leaving it.
 *
 *   vmiso-canary LOCKFILE TCP_PORTS UDP_PORTS        e.g. vmiso-canary - 22,80,40001 161,623
 *
 * Binds every port on every IPv4 address the host holds, loopback included, and reports one
 * line per event on stdout:
 *   bound PROTO ADDR PORT               a canary listens there
 *   busy PROTO ADDR PORT                the port is held already (a real service: probed as one)
 *   denied PROTO ADDR PORT              it cannot be bound (a port below 1024 and no privilege)
 *   ready                               every canary is bound, busy or denied
 *   arrival PROTO ADDR PORT PEER TEXT   something reached a canary
 *   capturing IFACE | nocapture IFACE REASON
 *   frame IFACE DIR PROTO SRC SPORT DST DPORT TEXT
 *                                       a frame on a captured interface: arriving (DIR in: ARP,
 *                                       TCP SYNs, UDP) or sent (out: SYN-ACKs, UDP); on a tap, in
 *                                       is from the guest. PROTO arp is a request, arpreply a
 *                                       reply (TEXT from its trailer)
 *   lease IFACE MAC ADDR                a DHCPACK to the guest on a captured tap: its address
 *                                       (for networks whose DHCP libvirt does not serve)
 *   connect ADDR PORT RESULT            the host's own reach of ADDR:PORT (connected, refused,
 *                                       timeout, unreachable, error)
 * TEXT is the payload's first run of [A-Za-z0-9-] from "vmiso-" (a token), else "-".
 *
 * Commands on stdin, one per line:  capture IFACE  |  connect ADDR PORT  |  alive
 * The controller sends `alive` every 2 s. The agent exits when stdin closes (the end of the run,
 * or the run's SSH session or process dying), when no line has come for SILENCE_S (the controller
 * is gone without a word: its link cut, its machine down), and after LIFETIME_S whatever comes.
 * While it runs it holds an exclusive flock on LOCKFILE ("-": none), so that a later run can tell
 * a dead run's folder from a live one's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 1024
#define TOKEN_MAX 64
#define SILENCE_S 12            /* no line from the controller: it is gone */
#define LIFETIME_S (12 * 3600)  /* the longest any run may hold the host's ports */

static time_t last_heard;

enum kind { STDIN, TCP_CANARY, UDP_CANARY, CAPTURE };

struct watched {
    enum kind kind;
    char addr[INET_ADDRSTRLEN];
    int port;
    char iface[IF_NAMESIZE];
};

static struct pollfd fds[MAX_FDS];
static struct watched what[MAX_FDS];
static int nfds;

static void watch(int fd, enum kind kind, const char *addr, int port, const char *iface)
{
    if (nfds == MAX_FDS) {
        close(fd);
        return;
    }
    fds[nfds] = (struct pollfd){ .fd = fd, .events = POLLIN };
    what[nfds] = (struct watched){ .kind = kind, .port = port };
    snprintf(what[nfds].addr, sizeof what[nfds].addr, "%s", addr ? addr : "");
    snprintf(what[nfds].iface, sizeof what[nfds].iface, "%s", iface ? iface : "");
    nfds++;
}

static int isalnum_ascii(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void token_of(const unsigned char *data, int len, char *out)
{
    const unsigned char *start = memmem(data, len, "vmiso-", 6);
    int n = 0;

    if (start)
        while (start + n < data + len && n < TOKEN_MAX - 1
               && (isalnum_ascii(start[n]) || start[n] == '-'))
            n++;
    if (n == 0) {
        strcpy(out, "-");
        return;
    }
    memcpy(out, start, n);
    out[n] = 0;
}

static void bind_canary(const char *addr, int port, int udp)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const char *proto = udp ? "udp" : "tcp";

    inet_pton(AF_INET, addr, &sin.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0
        || (!udp && listen(fd, 64) < 0)) {
        printf("%s %s %s %d\n", errno == EADDRINUSE ? "busy" : "denied", proto, addr, port);
        if (fd >= 0)
            close(fd);
        return;
    }
    printf("bound %s %s %d\n", proto, addr, port);
    watch(fd, udp ? UDP_CANARY : TCP_CANARY, addr, port, NULL);
}

static void bind_all(const char *ports, int udp)
{
    struct ifaddrs *all, *ifa;
    char addr[INET_ADDRSTRLEN], seen[4096] = " ", key[INET_ADDRSTRLEN + 2];
    char *list = strdup(ports), *p, *save = NULL;

    if (getifaddrs(&all) < 0)
        return;
    for (ifa = all; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET)
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, addr, sizeof addr);
        snprintf(key, sizeof key, " %s ", addr);
        if (strstr(seen, key) || strlen(seen) + strlen(key) >= sizeof seen)
            continue;
        strcat(seen, key + 1);
        for (p = strtok_r(strcpy(list, ports), ",", &save); p; p = strtok_r(NULL, ",", &save))
            bind_canary(addr, atoi(p), udp);
    }
    freeifaddrs(all);
    free(list);
}

static void read_canary(int i)
{
    unsigned char buf[512];
    char token[TOKEN_MAX], peer[INET_ADDRSTRLEN] = "?";
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = 0;
    int conn;

    if (what[i].kind == UDP_CANARY) {
        n = recvfrom(fds[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    } else {
        conn = accept(fds[i].fd, (struct sockaddr *)&from, &len);
        if (conn < 0)
            return;
        struct pollfd pfd = { .fd = conn, .events = POLLIN };
        if (poll(&pfd, 1, 2000) > 0)
            n = read(conn, buf, sizeof buf);
        close(conn);
    }
    if (n < 0)
        return;
    inet_ntop(AF_INET, &from.sin_addr, peer, sizeof peer);
    token_of(buf, n, token);
    printf("arrival %s %s %d %s %s\n", what[i].kind == UDP_CANARY ? "udp" : "tcp",
           what[i].addr, what[i].port, peer, token);
}

static void start_capture(const char *iface)
{
    struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
    int fd;

    ll.sll_ifindex = if_nametoindex(iface);
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (ll.sll_ifindex == 0 || fd < 0 || bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) {
        printf("nocapture %s %s\n", iface, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    printf("capturing %s\n", iface);
    watch(fd, CAPTURE, NULL, 0, iface);
}

/* A DHCPACK to the guest: which address its MAC was given. */
static void report_lease(const char *iface, const unsigned char *b, int len)
{
    static const unsigned char cookie[4] = { 99, 130, 83, 99 };
    char addr[INET_ADDRSTRLEN];
    int i = 240;

    if (len < 240 || b[0] != 2 || memcmp(b + 236, cookie, 4) != 0)
        return;
    while (i + 2 < len && b[i] != 255) {
        if (b[i] == 0) {
            i++;
            continue;
        }
        if (b[i] == 53 && b[i + 1] == 1 && b[i + 2] == 5) {  /* message type: ACK */
            inet_ntop(AF_INET, b + 16, addr, sizeof addr);
            printf("lease %s %02x:%02x:%02x:%02x:%02x:%02x %s\n", iface, b[28], b[29], b[30],
                   b[31], b[32], b[33], addr);
            return;
        }
        i += 2 + b[i + 1];
    }
}

static void report_frame(const char *iface, int out, const unsigned char *f, int len)
{
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], token[TOKEN_MAX] = "-";
    const char *dir = out ? "out" : "in";
    int type, hl, sport = 0, dport = 0;

    if (len < 14)
        return;
    type = f[12] << 8 | f[13];
    if (type == ETHERTYPE_ARP && len >= 42 && !out) {  /* a request, or a reply (a claim) */
        inet_ntop(AF_INET, f + 28, src, sizeof src);
        inet_ntop(AF_INET, f + 38, dst, sizeof dst);
        token_of(f + 42, len - 42, token);
        printf("frame %s in %s %s 0 %s 0 %s\n", iface, f[21] == 1 ? "arp" : "arpreply", src,
               dst, token);
        return;
    }
    if (type != ETHERTYPE_IP || len < 34 || (f[14] >> 4) != 4)
        return;
    hl = (f[14] & 15) * 4;
    if (len < 14 + hl + 8)
        return;
    inet_ntop(AF_INET, f + 26, src, sizeof src);
    inet_ntop(AF_INET, f + 30, dst, sizeof dst);
    sport = f[14 + hl] << 8 | f[15 + hl];
    dport = f[16 + hl] << 8 | f[17 + hl];
    if (f[23] == IPPROTO_TCP && len >= 14 + hl + 14) {
        int flags = f[14 + hl + 13], syn = flags & 0x02, ack = flags & 0x10;
        if (!syn || (!out && ack) || (out && !ack))
            return;
        printf("frame %s %s tcp %s %d %s %d -\n", iface, dir, src, sport, dst, dport);
    } else if (f[23] == IPPROTO_UDP) {
        token_of(f + 14 + hl + 8, len - 14 - hl - 8, token);
        printf("frame %s %s udp %s %d %s %d %s\n", iface, dir, src, sport, dst, dport, token);
        if (out && sport == 67 && dport == 68)
            report_lease(iface, f + 14 + hl + 8, len - 14 - hl - 8);
    }
}

static void read_capture(int i)
{
    unsigned char frame[2048];
    struct sockaddr_ll from;
    socklen_t len = sizeof from;
    ssize_t n;

    while ((n = recvfrom(fds[i].fd, frame, sizeof frame, 0, (struct sockaddr *)&from, &len)) > 0) {
        report_frame(what[i].iface, from.sll_pkttype == PACKET_OUTGOING, frame, n);
        len = sizeof from;
    }
}

static const char *reach(const char *addr, int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct pollfd pfd = { .events = POLLOUT };
    int err = 0;
    socklen_t len = sizeof err;

    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        return "error";
    pfd.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (pfd.fd < 0)
        return "error";
    if (connect(pfd.fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS)
        err = errno;
    else if (poll(&pfd, 1, 3000) <= 0)
        err = ETIMEDOUT;
    else
        getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    close(pfd.fd);
    switch (err) {
    case 0: return "connected";
    case ECONNREFUSED: return "refused";
    case ETIMEDOUT: return "timeout";
    case EHOSTUNREACH: case ENETUNREACH: return "unreachable";
    default: return "error";
    }
}

static void command(char *line)
{
    char word[16], arg[64];
    int port;

    if (sscanf(line, "capture %15s", arg) == 1)
        start_capture(arg);
    else if (sscanf(line, "connect %63s %d", arg, &port) == 2)
        printf("connect %s %d %s\n", arg, port, reach(arg, port));
    else if (strcmp(line, "alive") != 0 && sscanf(line, "%15s", word) == 1)
        printf("unknown %s\n", word);
}

static time_t now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Returns 0 once stdin is closed. */
static int read_commands(void)
{
    static char buf[4096];
    static size_t used;
    char *nl;
    ssize_t n = read(0, buf + used, sizeof buf - 1 - used);

    if (n <= 0)
        return 0;
    last_heard = now();
    used += n;
    buf[used] = 0;
    while ((nl = strchr(buf, '\n'))) {
        *nl = 0;
        command(buf);
        used -= nl + 1 - buf;
        memmove(buf, nl + 1, used + 1);
    }
    if (used == sizeof buf - 1)
        used = 0;  /* a line too long for any command */
    return 1;
}

int main(int argc, char **argv)
{
    int i, lock;
    time_t started = now();

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 4) {
        fprintf(stderr, "usage: vmiso-canary LOCKFILE TCP_PORTS UDP_PORTS\n");
        return 2;
    }
    if (strcmp(argv[1], "-") != 0) {
        lock = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
            fprintf(stderr, "vmiso-canary: cannot lock %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
    }
    watch(0, STDIN, NULL, 0, NULL);
    bind_all(argv[2], 0);
    bind_all(argv[3], 1);
    printf("ready\n");
    last_heard = now();
    for (;;) {
        if (now() - last_heard > SILENCE_S || now() - started > LIFETIME_S)
            return 0;
        if (poll(fds, nfds, 1000) < 0 && errno != EINTR)
            return 1;
        for (i = 0; i < nfds; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (what[i].kind == STDIN) {
                if (!read_commands())
                    return 0;
            } else if (what[i].kind == CAPTURE) {
                read_capture(i);
            } else {
                read_canary(i);
            }
        }
    }
}
