/*
 * vmiso-canary: what vmiso runs on a real host for the length of a run, so that the guest's
 * reach probes are seen arriving (or not) there and its probe packets are seen leaving it.
 *
 *   vmiso-canary LOCKFILE TCP_PORTS UDP_PORTS        e.g. vmiso-canary - 22,80,40001 161,623
 *
 * It listens on no port. Two raw sockets (TCP and UDP) receive a copy of every packet the
 * host's IP stack delivers locally, after the host's own filters (netfilter's INPUT hook) let
 * it through: a packet seen there reached the host exactly as far as a listener on its port
 * would have, and an outsider's connection is answered by the host alone, as before the run.
 * Only packets from the addresses the controller names (`watch`: its guests) and loopback
 * packets between 127.0.0.1 addresses (QEMU's user networking reaching the host's loopback)
 * to one of TCP_PORTS / UDP_PORTS are reported; nothing else of the host's traffic is. One line
 * per event on stdout:
 *   address ADDR                        an IPv4 address the host holds (at the start)
 *   observing PROTO | noobserve PROTO REASON
 *   ready                               the addresses are listed and the raw sockets open
 *   arrival PROTO ADDR PORT PEER TEXT   a packet from PEER delivered to ADDR:PORT: a TCP SYN
 *                                       (TEXT -), a TCP segment or UDP datagram carrying a token
 *   capturing IFACE | nocapture IFACE REASON
 *   frame IFACE DIR PROTO SRC SPORT DST DPORT TEXT
 *                                       a frame on a captured interface: arriving (DIR in: ARP,
 *                                       TCP SYNs, UDP) or sent (out: SYN-ACKs, UDP); on a tap, in
 *                                       is from the guest. PROTO arp is a request, arpreply a
 *                                       reply (TEXT from its trailer)
 *   lease IFACE MAC ADDR                a DHCPACK to the guest on a captured tap: its address
 *                                       (for networks whose DHCP libvirt does not serve)
 *   uncaptured IFACE                    the capture is stopped
 *   connect ADDR PORT RESULT            the host's own reach of ADDR:PORT (connected, refused,
 *                                       timeout, unreachable, error)
 * TEXT is the payload's first run of [A-Za-z0-9-] from "vmiso-" (a token), else "-".
 *
 * Commands on stdin, one per line:
 *   watch ADDR                  report arrivals from ADDR (a guest of the run)
 *   capture IFACE MAC PREFIX    report IFACE's frames from or to MAC (DHCPACKs for MAC), or
 *                               whose TEXT starts with PREFIX; "-" for either, not both
 *   uncapture IFACE             stop that capture
 *   connect ADDR PORT  |  alive
 * A capture reports at most MAX_FRAMES frames. The controller sends `alive` every 2 s. The
 * agent exits when stdin closes (the end of the run, or the run's SSH session or process
 * dying), when no line has come for SILENCE_S (the controller is gone without a word: its link
 * cut, its machine down), and after LIFETIME_S whatever comes. While it runs it holds an
 * exclusive flock on LOCKFILE ("-": none), so that a later run can tell a dead run's folder
 * from a live one's.
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

#define MAX_FDS 256
#define MAX_PORTS 256
#define MAX_WATCHED 64
#define MAX_FRAMES 4096         /* per capture: a capture is for one check's few probes */
#define TOKEN_MAX 64
#define SILENCE_S 12            /* no line from the controller: it is gone */
#define LIFETIME_S (12 * 3600)  /* the longest any run may observe the host */

static time_t last_heard;

enum kind { STDIN, RAW_TCP, RAW_UDP, CAPTURE };

struct watched {
    enum kind kind;
    char iface[IF_NAMESIZE];
    int any_mac;
    unsigned char mac[6];
    char prefix[TOKEN_MAX];
    int frames;
};

static struct pollfd fds[MAX_FDS];
static struct watched what[MAX_FDS];
static int nfds;
static int tcp_ports[MAX_PORTS], udp_ports[MAX_PORTS], ntcp, nudp;
static struct in_addr sources[MAX_WATCHED];
static int nsources;

static int watch(int fd, enum kind kind, const char *iface)
{
    if (nfds == MAX_FDS) {
        close(fd);
        return -1;
    }
    fds[nfds] = (struct pollfd){ .fd = fd, .events = POLLIN };
    what[nfds] = (struct watched){ .kind = kind };
    snprintf(what[nfds].iface, sizeof what[nfds].iface, "%s", iface ? iface : "");
    return nfds++;
}

static void unwatch(int i)
{
    close(fds[i].fd);
    fds[i] = fds[nfds - 1];
    what[i] = what[nfds - 1];
    nfds--;
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

static int parse_ports(const char *list, int *ports)
{
    char *copy = strdup(list), *p, *save = NULL;
    int n = 0;

    for (p = strtok_r(copy, ",", &save); p && n < MAX_PORTS; p = strtok_r(NULL, ",", &save))
        ports[n++] = atoi(p);
    free(copy);
    return n;
}

static int has_port(const int *ports, int n, int port)
{
    for (int i = 0; i < n; i++)
        if (ports[i] == port)
            return 1;
    return 0;
}

static void list_addresses(void)
{
    struct ifaddrs *all, *ifa;
    char addr[INET_ADDRSTRLEN];

    if (getifaddrs(&all) < 0)
        return;
    for (ifa = all; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET)
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, addr, sizeof addr);
        printf("address %s\n", addr);
    }
    freeifaddrs(all);
}

static void open_raw(int proto)
{
    const char *name = proto == IPPROTO_TCP ? "tcp" : "udp";
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);

    if (fd < 0) {
        printf("noobserve %s %s\n", name, strerror(errno));
        return;
    }
    if (watch(fd, proto == IPPROTO_TCP ? RAW_TCP : RAW_UDP, NULL) < 0) {
        printf("noobserve %s too many sockets\n", name);
        return;
    }
    printf("observing %s\n", name);
}

static int watched_source(struct in_addr src, struct in_addr dst)
{
    if ((ntohl(src.s_addr) >> 24) == 127 && (ntohl(dst.s_addr) >> 24) == 127)
        return 1;
    for (int i = 0; i < nsources; i++)
        if (sources[i].s_addr == src.s_addr)
            return 1;
    return 0;
}

/* One IPv4 packet the host delivered locally: reported when it is a probe's. */
static void report_arrival(int tcp, const unsigned char *p, int len)
{
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], token[TOKEN_MAX] = "-";
    struct in_addr from, to;
    int hl, port, data;

    if (len < 20 || (p[0] >> 4) != 4)
        return;
    hl = (p[0] & 15) * 4;
    if (len < hl + (tcp ? 20 : 8))
        return;
    memcpy(&from, p + 12, 4);
    memcpy(&to, p + 16, 4);
    port = p[hl + 2] << 8 | p[hl + 3];
    if (!watched_source(from, to) || !has_port(tcp ? tcp_ports : udp_ports,
                                               tcp ? ntcp : nudp, port))
        return;
    data = hl + (tcp ? (p[hl + 12] >> 4) * 4 : 8);
    if (data < len)
        token_of(p + data, len - data, token);
    if (tcp && !((p[hl + 13] & 0x02) && !(p[hl + 13] & 0x10)) && strcmp(token, "-") == 0)
        return;  /* neither a SYN nor a token: the rest of a connection */
    inet_ntop(AF_INET, &from, src, sizeof src);
    inet_ntop(AF_INET, &to, dst, sizeof dst);
    printf("arrival %s %s %d %s %s\n", tcp ? "tcp" : "udp", dst, port, src, token);
}

static void read_raw(int i)
{
    unsigned char packet[2048];
    ssize_t n;

    while ((n = recv(fds[i].fd, packet, sizeof packet, 0)) > 0)
        report_arrival(what[i].kind == RAW_TCP, packet, n);
}

static void watch_source(const char *addr)
{
    struct in_addr a;

    if (inet_pton(AF_INET, addr, &a) != 1 || nsources == MAX_WATCHED)
        printf("unwatched %s\n", addr);
    else {
        sources[nsources++] = a;
        printf("watching %s\n", addr);
    }
}

static int capture_of(const char *iface)
{
    for (int i = 0; i < nfds; i++)
        if (what[i].kind == CAPTURE && strcmp(what[i].iface, iface) == 0)
            return i;
    return -1;
}

static void start_capture(const char *iface, const char *mac, const char *prefix)
{
    struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
    struct watched filter = { .kind = CAPTURE, .any_mac = strcmp(mac, "-") == 0 };
    int fd, i;

    if (filter.any_mac && strcmp(prefix, "-") == 0) {
        printf("nocapture %s a capture needs a MAC or a token prefix\n", iface);
        return;
    }
    if (!filter.any_mac && sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &filter.mac[0],
                                  &filter.mac[1], &filter.mac[2], &filter.mac[3],
                                  &filter.mac[4], &filter.mac[5]) != 6) {
        printf("nocapture %s not a MAC: %s\n", iface, mac);
        return;
    }
    snprintf(filter.prefix, sizeof filter.prefix, "%s", strcmp(prefix, "-") ? prefix : "");
    if (capture_of(iface) >= 0) {
        printf("nocapture %s captured already\n", iface);
        return;
    }
    ll.sll_ifindex = if_nametoindex(iface);
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (ll.sll_ifindex == 0 || fd < 0 || bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) {
        printf("nocapture %s %s\n", iface, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    if ((i = watch(fd, CAPTURE, iface)) < 0) {
        printf("nocapture %s too many sockets\n", iface);
        return;
    }
    snprintf(filter.iface, sizeof filter.iface, "%s", iface);
    what[i] = filter;
    printf("capturing %s\n", iface);
}

static void stop_capture(const char *iface)
{
    int i = capture_of(iface);

    if (i >= 0)
        unwatch(i);
    printf("uncaptured %s\n", iface);
}

/* A DHCPACK: the address given to the client hardware address at b + 28. */
static int lease_of(const unsigned char *b, int len, char *addr)
{
    static const unsigned char cookie[4] = { 99, 130, 83, 99 };
    int i = 240;

    if (len < 240 || b[0] != 2 || memcmp(b + 236, cookie, 4) != 0)
        return 0;
    while (i + 2 < len && b[i] != 255) {
        if (b[i] == 0) {
            i++;
            continue;
        }
        if (b[i] == 53 && b[i + 1] == 1 && b[i + 2] == 5) {  /* message type: ACK */
            inet_ntop(AF_INET, b + 16, addr, INET_ADDRSTRLEN);
            return 1;
        }
        i += 2 + b[i + 1];
    }
    return 0;
}

/* Whether a frame is the capture's: from or to its MAC, or carrying its token prefix. */
static int wanted(const struct watched *w, int out, const unsigned char *f, const char *token)
{
    if (!w->any_mac && memcmp(out ? f : f + 6, w->mac, 6) == 0)
        return 1;
    return w->prefix[0] && strncmp(token, w->prefix, strlen(w->prefix)) == 0;
}

static void report_frame(struct watched *w, int out, const unsigned char *f, int len)
{
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], token[TOKEN_MAX] = "-";
    char addr[INET_ADDRSTRLEN];
    const char *dir = out ? "out" : "in";
    int type, hl, sport, dport, flags;
    const unsigned char *b;

    if (len < 14)
        return;
    type = f[12] << 8 | f[13];
    if (type == ETHERTYPE_ARP && len >= 42 && !out) {  /* a request, or a reply (a claim) */
        token_of(f + 42, len - 42, token);
        if (!wanted(w, out, f, token))
            return;
        inet_ntop(AF_INET, f + 28, src, sizeof src);
        inet_ntop(AF_INET, f + 38, dst, sizeof dst);
        printf("frame %s in %s %s 0 %s 0 %s\n", w->iface, f[21] == 1 ? "arp" : "arpreply",
               src, dst, token);
        w->frames++;
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
    b = f + 14 + hl + 8;
    if (f[23] == IPPROTO_TCP && len >= 14 + hl + 14) {
        flags = f[14 + hl + 13];
        if (!(flags & 0x02) || (!out && (flags & 0x10)) || (out && !(flags & 0x10))
            || !wanted(w, out, f, token))
            return;
        printf("frame %s %s tcp %s %d %s %d -\n", w->iface, dir, src, sport, dst, dport);
        w->frames++;
    } else if (f[23] == IPPROTO_UDP) {
        token_of(b, len - 14 - hl - 8, token);
        if (out && sport == 67 && dport == 68 && !w->any_mac && len - 14 - hl - 8 >= 240
            && memcmp(b + 28, w->mac, 6) == 0 && lease_of(b, len - 14 - hl - 8, addr))
            printf("lease %s %02x:%02x:%02x:%02x:%02x:%02x %s\n", w->iface, b[28], b[29],
                   b[30], b[31], b[32], b[33], addr);
        if (!wanted(w, out, f, token))
            return;
        printf("frame %s %s udp %s %d %s %d %s\n", w->iface, dir, src, sport, dst, dport, token);
        w->frames++;
    }
}

static void read_capture(int i)
{
    unsigned char frame[2048];
    struct sockaddr_ll from;
    socklen_t len = sizeof from;
    ssize_t n;

    while ((n = recvfrom(fds[i].fd, frame, sizeof frame, 0, (struct sockaddr *)&from, &len)) > 0) {
        if (what[i].frames < MAX_FRAMES)
            report_frame(&what[i], from.sll_pkttype == PACKET_OUTGOING, frame, n);
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
    char word[16], arg[64], iface[IF_NAMESIZE], mac[32], prefix[TOKEN_MAX];
    int port;

    if (sscanf(line, "capture %15s %31s %63s", iface, mac, prefix) == 3)
        start_capture(iface, mac, prefix);
    else if (sscanf(line, "uncapture %15s", iface) == 1)
        stop_capture(iface);
    else if (sscanf(line, "watch %63s", arg) == 1)
        watch_source(arg);
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
    watch(0, STDIN, NULL);
    ntcp = parse_ports(argv[2], tcp_ports);
    nudp = parse_ports(argv[3], udp_ports);
    list_addresses();
    open_raw(IPPROTO_TCP);
    open_raw(IPPROTO_UDP);
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
                read_raw(i);
            }
        }
    }
}
