/*
 * vmiso-probe: send a token to many TCP/UDP targets at once from inside the guest.
 *
 *   vmiso-probe TIMEOUT_MS TOKEN tcp:10.0.0.1:22 udp:10.0.0.1:53 ...
 *
 * One line per target on stdout: "PROTO ADDR PORT RESULT", RESULT one of
 * connected (TCP handshake done, token sent), sent (UDP datagram left the guest),
 * timeout, refused, unreachable, error:<errno text>. Whether a token arrived is
 * decided by the listener on the far side; this output is the guest's view.
 *
 *   vmiso-probe spoof IFACE TOKEN SPOOF_IP DST_IP DST_PORT
 *
 * Writes four raw broadcast frames on IFACE (NET-04): a genuine UDP datagram
 * (payload TOKEN-genuine), one from the forged source address SPOOF_IP (TOKEN-ip),
 * one from a forged source MAC (TOKEN-mac), and a gratuitous ARP reply claiming
 * SPOOF_IP (TOKEN-arp in the frame's trailer). A capture on the far side of the
 * bridge decides which arrived; one line per frame says it left: "spoof KIND sent".
 *
 *   vmiso-probe listen PORT SECONDS FILE
 *
 * Accepts one TCP connection on PORT within SECONDS and writes what it receives to FILE
 * (created empty once the socket listens, so the caller knows when to send).
 *
 *   vmiso-probe seed-rng FILE
 *
 * Credits FILE (random bytes the host put in the seed) to the kernel's RNG at boot, as a
 * stored random seed is credited on a real system. The probe guest has no hardware RNG,
 * and under emulation its crng would take seconds to initialise, with sshd waiting on it.
 */
#include <arpa/inet.h>
#include <linux/random.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *classify(int err)
{
    switch (err) {
    case 0: return "connected";
    case ETIMEDOUT: case EINPROGRESS: return "timeout";
    case ECONNREFUSED: return "refused";
    case EHOSTUNREACH: case ENETUNREACH: return "unreachable";
    default: return NULL;
    }
}

static int probe(const char *proto, const char *addr, int port, const char *token, int timeout_ms)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    int udp = strcmp(proto, "udp") == 0;
    const char *device = getenv("VMISO_PROBE_DEVICE");
    int fd, err = 0;
    socklen_t len = sizeof err;
    struct pollfd pfd;

    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        printf("%s %s %d error:bad-address\n", proto, addr, port);
        return 2;
    }
    fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
    /* VMISO_PROBE_DEVICE: leave by that NIC alone, whatever the default route says */
    if (fd < 0 || (device && *device
                   && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, strlen(device) + 1) < 0))
        err = errno;
    if (!err && connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS)
        err = errno;
    if (!err && !udp) {
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, timeout_ms) <= 0)
            err = ETIMEDOUT;
        else
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (!err && send(fd, token, strlen(token), 0) < 0)
        err = errno;
    if (udp && !err) {
        printf("%s %s %d sent\n", proto, addr, port);
        return 0;
    }
    if (classify(err))
        printf("%s %s %d %s\n", proto, addr, port, classify(err));
    else
        printf("%s %s %d error:%s\n", proto, addr, port, strerror(err));
    if (!err)
        usleep(200000); /* let the listener read the token before the close */
    return err ? 1 : 0;
}

static const unsigned char FORGED_MAC[6] = { 0x52, 0x54, 0x00, 0x5f, 0x5f, 0x5f };

static unsigned short checksum(const void *data, int len)
{
    const unsigned short *p = data;
    unsigned long sum = 0;
    for (; len > 1; len -= 2)
        sum += *p++;
    if (len)
        sum += *(const unsigned char *)p;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return ~sum;
}

static int udp_frame(unsigned char *frame, const unsigned char *src_mac, struct in_addr src,
                     struct in_addr dst, int port, const char *payload)
{
    struct ether_header *eth = (struct ether_header *)frame;
    struct iphdr *ip = (struct iphdr *)(frame + sizeof *eth);
    struct udphdr *udp = (struct udphdr *)(ip + 1);
    int len = strlen(payload);

    memset(eth->ether_dhost, 0xff, 6);
    memcpy(eth->ether_shost, src_mac, 6);
    eth->ether_type = htons(ETHERTYPE_IP);
    memset(ip, 0, sizeof *ip);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->saddr = src.s_addr;
    ip->daddr = dst.s_addr;
    ip->tot_len = htons(sizeof *ip + sizeof *udp + len);
    ip->check = checksum(ip, sizeof *ip);
    udp->source = htons(40000);
    udp->dest = htons(port);
    udp->len = htons(sizeof *udp + len);
    udp->check = 0;
    memcpy(udp + 1, payload, len);
    return sizeof *eth + sizeof *ip + sizeof *udp + len;
}

static int arp_frame(unsigned char *frame, const unsigned char *mac, struct in_addr claimed,
                     const char *trailer)
{
    struct ether_header *eth = (struct ether_header *)frame;
    unsigned char *arp = frame + sizeof *eth;

    memset(eth->ether_dhost, 0xff, 6);
    memcpy(eth->ether_shost, mac, 6);
    eth->ether_type = htons(ETHERTYPE_ARP);
    memcpy(arp, "\x00\x01\x08\x00\x06\x04\x00\x02", 8);   /* Ethernet/IPv4 reply */
    memcpy(arp + 8, mac, 6);
    memcpy(arp + 14, &claimed, 4);
    memset(arp + 18, 0xff, 6);
    memcpy(arp + 24, &claimed, 4);
    memcpy(arp + 28, trailer, strlen(trailer));
    return sizeof *eth + 28 + strlen(trailer);
}

static int spoof(char **argv)
{
    const char *iface = argv[2], *token = argv[3];
    struct in_addr own, forged, dst;
    unsigned char mac[6], frame[1500];
    char payload[160];
    struct ifreq ifr = { 0 };
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
    const char *kinds[] = { "genuine", "ip", "mac", "arp" };
    int fd, i, len, port = atoi(argv[6]);

    fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    strncpy(ifr.ifr_name, iface, IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        printf("spoof %s error:%s\n", iface, strerror(errno));
        return 1;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    ifr.ifr_addr.sa_family = AF_INET;
    if (ioctl(fd, SIOCGIFADDR, &ifr) < 0 || ioctl(fd, SIOCGIFINDEX, &ifr) < 0
        || inet_pton(AF_INET, argv[4], &forged) != 1 || inet_pton(AF_INET, argv[5], &dst) != 1) {
        printf("spoof %s error:%s\n", iface, errno ? strerror(errno) : "bad-address");
        return 1;
    }
    to.sll_ifindex = ifr.ifr_ifindex;
    memset(to.sll_addr, 0xff, 6);
    if (ioctl(fd, SIOCGIFADDR, &ifr) < 0)
        return 1;
    own = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
    for (i = 0; i < 4; i++) {
        snprintf(payload, sizeof payload, "%s-%s", token, kinds[i]);
        if (i == 3)
            len = arp_frame(frame, mac, forged, payload);
        else
            len = udp_frame(frame, i == 2 ? FORGED_MAC : mac, i == 1 ? forged : own, dst, port,
                            payload);
        if (sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof to) < 0)
            printf("spoof %s error:%s\n", kinds[i], strerror(errno));
        else
            printf("spoof %s sent\n", kinds[i]);
    }
    return 0;
}

#define VD_AGENT_CLIPBOARD 4
#define VD_AGENT_ANNOUNCE_CAPABILITIES 6
#define VD_AGENT_CLIPBOARD_GRAB 7
#define VD_AGENT_CLIPBOARD_REQUEST 8
#define VD_AGENT_CAP_CLIPBOARD_BY_DEMAND 5
#define VD_AGENT_CLIPBOARD_UTF8_TEXT 1

struct vd_message {         /* VDIChunkHeader followed by VDAgentMessage, little endian */
    uint32_t port, chunk_size;
    uint32_t protocol, type;
    uint64_t opaque;
    uint32_t size;
} __attribute__((packed));

static int vd_send(int fd, uint32_t type, const uint32_t *words, int count)
{
    unsigned char buf[sizeof(struct vd_message) + 16];
    struct vd_message *m = (struct vd_message *)buf;
    int len = count * 4;

    memset(m, 0, sizeof *m);
    m->port = 1;
    m->chunk_size = sizeof *m - 8 + len;
    m->protocol = 1;
    m->type = type;
    m->size = len;
    memcpy(m + 1, words, len);
    return write(fd, buf, sizeof *m + len) == (ssize_t)(sizeof *m + len) ? 0 : -1;
}

static int read_full(int fd, void *buf, size_t len, int deadline_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    size_t got = 0;
    ssize_t n;

    while (got < len) {
        if (poll(&pfd, 1, deadline_ms) <= 0)
            return -1;
        n = read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return -1;
        got += n;
    }
    return 0;
}

static int vdagent(char **argv)
{
    int fd = open(argv[2], O_RDWR), ms = atoi(argv[3]) * 1000;
    struct vd_message m;
    static char data[65536];
    uint32_t caps[2] = { 1, 1u << VD_AGENT_CAP_CLIPBOARD_BY_DEMAND };
    uint32_t request = VD_AGENT_CLIPBOARD_UTF8_TEXT;

    /* Announce first, asking for the host's capabilities: QEMU 7.2 speaks only when asked. */
    if (fd < 0 || vd_send(fd, VD_AGENT_ANNOUNCE_CAPABILITIES, caps, 2) < 0) {
        printf("vdagent error:%s\n", strerror(errno));
        return 1;
    }
    while (read_full(fd, &m, sizeof m, ms) == 0) {
        if (m.size >= sizeof data || read_full(fd, data, m.size, ms) < 0)
            break;
        data[m.size] = 0;
        if (m.type == VD_AGENT_ANNOUNCE_CAPABILITIES) {
            caps[0] = 0;
            if (m.size >= 4 && data[0] && vd_send(fd, VD_AGENT_ANNOUNCE_CAPABILITIES, caps, 2) < 0)
                break;
            printf("vdagent ready\n");
        } else if (m.type == VD_AGENT_CLIPBOARD_GRAB) {
            if (vd_send(fd, VD_AGENT_CLIPBOARD_REQUEST, &request, 1) < 0)
                break;
        } else if (m.type == VD_AGENT_CLIPBOARD && m.size > 4) {
            printf("clipboard %s\n", data + 4);
            return 0;
        }
    }
    printf("vdagent timeout\n");
    return 1;
}

static int listen_once(int port, int seconds, const char *path)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct pollfd pfd;
    char buf[4096];
    int one = 1, srv = socket(AF_INET, SOCK_STREAM, 0), out, conn;
    ssize_t n;

    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(srv, 1) < 0) {
        perror("listen");
        return 1;
    }
    out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) {
        perror(path);
        return 1;
    }
    pfd.fd = srv;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, seconds * 1000) <= 0)
        return 0;  /* nobody came: FILE stays empty */
    conn = accept(srv, NULL, NULL);
    pfd.fd = conn;
    while (conn >= 0 && poll(&pfd, 1, 2000) > 0 && (n = read(conn, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n)
            break;
    return 0;
}

static int seed_rng(const char *path)
{
    struct {
        struct rand_pool_info info;
        unsigned char room[64];  /* storage for info.buf, which it follows */
    } seed;
    int in = open(path, O_RDONLY), rng = open("/dev/urandom", O_WRONLY);
    ssize_t got = in < 0 ? -1 : read(in, seed.info.buf, sizeof(seed.room));

    if (got < 16 || rng < 0) {
        fprintf(stderr, "seed-rng: no seed in %s\n", path);
        return 1;
    }
    seed.info.entropy_count = got * 8;
    seed.info.buf_size = got;
    if (ioctl(rng, RNDADDENTROPY, &seed.info) < 0) {
        perror("seed-rng: RNDADDENTROPY");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char proto[8], addr[64];
    int port, i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 7 && strcmp(argv[1], "spoof") == 0)
        return spoof(argv);
    if (argc == 4 && strcmp(argv[1], "vdagent") == 0)
        return vdagent(argv);
    if (argc == 3 && strcmp(argv[1], "seed-rng") == 0)
        return seed_rng(argv[2]);
    if (argc == 5 && strcmp(argv[1], "listen") == 0)
        return listen_once(atoi(argv[2]), atoi(argv[3]), argv[4]);
    if (argc < 4) {
        fprintf(stderr, "usage: vmiso-probe TIMEOUT_MS TOKEN PROTO:ADDR:PORT...\n");
        return 2;
    }
    for (i = 3; i < argc; i++) {
        if (sscanf(argv[i], "%7[a-z]:%63[0-9.]:%d", proto, addr, &port) != 3) {
            printf("? %s 0 error:bad-target\n", argv[i]);
            continue;
        }
        if (fork() == 0)
            return probe(proto, addr, port, argv[2], atoi(argv[1]));
    }
    while (wait(NULL) > 0)
        ;
    return 0;
}
