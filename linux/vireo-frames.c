// vireo-frames: the guest side of `vireo linux`.
//
// Sends Ethernet frames of every size from 60 to 14 + MTU bytes through an
// interface whose device loops them back (vireo's virtio-net loopback),
// receives each one, and checks every byte and the length. A few frames are
// kept in flight. Frame i is (60 + i * 1009 mod (MTU + 14 - 59)) bytes long,
// so 1455 frames at MTU 1500 cover every size once.
//
// Usage: vireo-frames <interface> <frames>
// Prints "vireo: frames <n> bytes <b> errors <e>"; exits 1 on any error.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETHERTYPE_TEST 0x88B5 /* IEEE 802 local experimental */
#define IN_FLIGHT 8
#define WAIT_MS 5000
#define MAX_REPORTED 5

static unsigned char mac[6];
static int min_len = 60, max_len;

static int frame_len(long i)
{
	return min_len + (int)((i * 1009) % (max_len - min_len + 1));
}

static void build(long i, unsigned char *f)
{
	int len = frame_len(i);
	memcpy(f, mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	for (int k = 0; k < 4; k++)
		f[14 + k] = (unsigned char)(i >> (8 * k));
	for (int j = 18; j < len; j++)
		f[j] = (unsigned char)(i * 31 + j * 7 + (j >> 8));
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s <interface> <frames>\n", argv[0]);
		return 2;
	}
	long count = atol(argv[2]);
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_TEST));
	if (s < 0) {
		perror("vireo: socket");
		return 1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		perror("vireo: SIOCGIFINDEX");
		return 1;
	}
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		perror("vireo: SIOCGIFHWADDR");
		return 1;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		perror("vireo: SIOCGIFMTU");
		return 1;
	}
	max_len = 14 + ifr.ifr_mtu;
	struct sockaddr_ll addr = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETHERTYPE_TEST),
		.sll_ifindex = ifindex,
	};
	if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("vireo: bind");
		return 1;
	}
	unsigned char *out = malloc(max_len), *want = malloc(max_len), *in = malloc(max_len + 64);
	long sent = 0, received = 0, errors = 0, bytes = 0;
	while (received < count) {
		while (sent < count && sent - received < IN_FLIGHT) {
			build(sent, out);
			if (send(s, out, frame_len(sent), 0) != frame_len(sent)) {
				perror("vireo: send");
				errors++;
			}
			sent++;
		}
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) <= 0) {
			printf("vireo: frame %ld (%d bytes) did not come back within %d ms\n",
			       received, frame_len(received), WAIT_MS);
			errors += count - received;
			break;
		}
		ssize_t n = recv(s, in, max_len + 64, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("vireo: recv");
			errors++;
			break;
		}
		build(received, want);
		int len = frame_len(received);
		if (n != len || memcmp(in, want, len) != 0) {
			if (errors < MAX_REPORTED) {
				int at = 0;
				while (at < n && at < len && in[at] == want[at])
					at++;
				printf("vireo: frame %ld: %zd bytes back of %d, first difference at byte %d\n",
				       received, n, len, at);
			}
			errors++;
		}
		bytes += n;
		received++;
	}
	printf("vireo: frames %ld bytes %ld errors %ld sizes %d..%d\n", received, bytes, errors,
	       min_len, max_len);
	return errors != 0;
}
