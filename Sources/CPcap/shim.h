#ifndef PRIVET_CPCAP_SHIM_H
#define PRIVET_CPCAP_SHIM_H
// libpcap as Debian's libpcap-dev installs it.
#include <pcap/pcap.h>
#include <stdio.h>
#endif
