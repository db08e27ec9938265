/*
 * vmiso-probe: send a token to many TCP/UDP targets at once from inside the guest.
 *
 *   vmiso-probe TIMEOUT_MS TOKEN tcp:10.0.0.1:22 udp:10.0.0.1:53 ...
 *
 * One line per target on stdout: "PROTO ADDR PORT RESULT", RESULT one of
 * connected (TCP handshake done, token sent), sent (UDP datagram left the guest),
 * timeout, refused, unreachable, error:<errno text>. Whether a token arrived is
 * decided by the listener on the far side; this output is the guest's view.
 */
#include <arpa/inet.h>
#include <errno.h>
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
    int fd, err = 0;
    socklen_t len = sizeof err;
    struct pollfd pfd;

    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        printf("%s %s %d error:bad-address\n", proto, addr, port);
        return 2;
    }
    fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
    if (fd < 0 || (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS))
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

int main(int argc, char **argv)
{
    char proto[8], addr[64];
    int port, i;

    if (argc < 4) {
        fprintf(stderr, "usage: vmiso-probe TIMEOUT_MS TOKEN PROTO:ADDR:PORT...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
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
