import Topology

extension EC2Actions {
    /// `DescribeInstances`: each host in a VPC as the running instance it stands for, in a
    /// reservation of its own, with its one network interface, addresses and security groups;
    /// what `privet import aws` reads back, so that a snapshot of a running topology names its
    /// hosts.
    static func instances(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let topology = context.topology
        let filters = try Filters(context.request, known: ["instance-id", "vpc-id", "subnet-id", "private-ip-address",
                                                           "instance-state-name", "availability-zone", "network-interface.network-interface-id"])
        let hosts: [(id: String, host: Host, eni: NetworkInterface)] = topology.hosts.compactMap { host in
            guard case .vpc(let interface) = host.placement, let id = host.instanceID else { return nil }
            return (id, host, topology[interface])
        }
        let chosen = try selected(hosts, ids: context.request.list("InstanceId"), id: \.id, notFound: .instanceNotFound, kind: "instance")
            .filter { entry in
                let subnet = topology[entry.eni.subnet]
                return filters.admit(["instance-id": [entry.id], "vpc-id": [topology[subnet.vpc].id], "subnet-id": [subnet.id],
                                      "private-ip-address": entry.eni.ipv4.map { ["\($0)"] } ?? [], "instance-state-name": ["running"],
                                      "availability-zone": [topology[subnet.zone].name],
                                      "network-interface.network-interface-id": [entry.eni.id]],
                                     tags: tagValues(entry.host.name, []))
            }
        let page = try page(chosen, context)
        return { xml in
            xml.list("reservationSet", member: "item", page.elements) { xml, entry in
                let subnet = topology[entry.eni.subnet], vpc = topology[subnet.vpc]
                let groups = entry.eni.securityGroups.map { topology[$0] }
                func groupSet(_ xml: inout XMLWriter) {
                    xml.list("groupSet", member: "item", groups) { xml, group in
                        xml.value("groupId", group.id)
                        xml.value("groupName", group.name)
                    }
                }
                xml.value("reservationId", "r-" + entry.id.dropFirst(2))
                xml.value("ownerId", vpc.accountID)
                xml.list("instancesSet", member: "item", [entry]) { xml, entry in
                    xml.value("instanceId", entry.id)
                    xml.element("instanceState") { xml in
                        xml.value("code", 16)
                        xml.value("name", "running")
                    }
                    xml.element("placement") { $0.value("availabilityZone", topology[subnet.zone].name) }
                    xml.value("subnetId", subnet.id)
                    xml.value("vpcId", vpc.id)
                    xml.value("privateIpAddress", entry.eni.ipv4.map { "\($0)" })
                    xml.value("ipv6Address", entry.eni.ipv6.map { "\($0)" })
                    xml.value("sourceDestCheck", entry.eni.sourceDestCheck)
                    groupSet(&xml)
                    xml.list("networkInterfaceSet", member: "item", [entry.eni]) { xml, eni in
                        xml.value("networkInterfaceId", eni.id)
                        xml.value("subnetId", subnet.id)
                        xml.value("vpcId", vpc.id)
                        xml.value("privateIpAddress", eni.ipv4.map { "\($0)" })
                        xml.list("ipv6AddressesSet", member: "item", eni.ipv6.map { [$0] } ?? []) { $0.value("ipv6Address", "\($1)") }
                        groupSet(&xml)
                    }
                    tagSet(&xml, entry.host.name, [])
                }
            }
            xml.value("nextToken", page.next)
        }
    }
}
