import Topology

// Tags: `CreateTags`, `DeleteTags`, `DescribeTags`, and `TagSpecification` on creation. A tag is
// kept in the topology's spec beside its resource (`tags:` in the file). `Name` is the
// resource's Privet name, from which its ID is made: it is given at creation and fixed after.

extension EC2Actions {
    /// A resource the tag calls name by ID: its kind (EC2's resource type) and its spec's name.
    struct TaggedResource {
        var type: String
        var id: String
        var name: String
        var tags: [Tag]
    }

    static func taggable(_ topology: Topology) -> [TaggedResource] {
        topology.vpcs.map { TaggedResource(type: "vpc", id: $0.id, name: $0.name, tags: $0.tags) }
            + topology.subnets.map { TaggedResource(type: "subnet", id: $0.id, name: $0.name, tags: $0.tags) }
            + topology.routeTables.filter { !$0.isMain }.map { TaggedResource(type: "route-table", id: $0.id, name: $0.name, tags: $0.tags) }
            + topology.securityGroups.map { TaggedResource(type: "security-group", id: $0.id, name: $0.name, tags: $0.tags) }
            + topology.endpointServices.map { TaggedResource(type: "vpc-endpoint-service", id: $0.id, name: $0.name, tags: $0.tags) }
            + topology.endpoints.map { TaggedResource(type: "vpc-endpoint", id: $0.id, name: $0.name, tags: $0.tags) }
    }

    /// `Tag.N.Key` and `Tag.N.Value` (`prefix` for `TagSpecification.N.`).
    static func requestedTags(_ parameters: [String: String], prefix: String = "") -> [(key: String, value: String?)] {
        var tags: [(String, String?)] = []
        var number = 1
        while let key = parameters["\(prefix)Tag.\(number).Key"] {
            tags.append((key, parameters["\(prefix)Tag.\(number).Value"]))
            number += 1
        }
        return tags
    }

    /// The tags of `TagSpecification.N` on a create call, `Name` among them.
    static func creationTags(_ context: ActionContext) -> [(key: String, value: String)] {
        var tags: [(String, String)] = []
        var number = 1
        while context.request.parameters["TagSpecification.\(number).Tag.1.Key"] != nil
                || context.request.parameters["TagSpecification.\(number).ResourceType"] != nil {
            tags += requestedTags(context.request.parameters, prefix: "TagSpecification.\(number).").map { ($0.key, $0.value ?? "") }
            number += 1
        }
        return tags
    }

    static func tagSpecs(_ tags: [(key: String, value: String)]) -> [TagSpec] {
        tags.filter { $0.key != "Name" }.map { TagSpec(key: Located($0.key, at: here), value: Located($0.value, at: here)) }
    }

    /// Applies `change` to the tags of the spec entry of `resource`.
    static func editTags(_ spec: inout TopologySpec, _ resource: TaggedResource, _ topology: Topology,
                         _ change: (inout [TagSpec]) throws(APIError) -> Void) throws(APIError) {
        switch resource.type {
        case "vpc":
            guard let index = spec.vpcs.firstIndex(where: { $0.name.value == resource.name }) else { return }
            try change(&spec.vpcs[index].tags)
        case "subnet":
            guard let index = spec.subnets.firstIndex(where: { $0.name.value == resource.name }) else { return }
            try change(&spec.subnets[index].tags)
        case "route-table":
            guard let index = spec.routeTables.firstIndex(where: { $0.name.value == resource.name }) else { return }
            try change(&spec.routeTables[index].tags)
        case "security-group":
            guard let group = topology.securityGroups.first(where: { $0.id == resource.id }) else { return }
            let index = securityGroupSpec(&spec, group, topology)
            try change(&spec.securityGroups[index].tags)
        case "vpc-endpoint-service":
            guard let index = spec.endpointServices.firstIndex(where: { $0.name.value == resource.name }) else { return }
            try change(&spec.endpointServices[index].tags)
        default:
            guard let index = spec.endpoints.firstIndex(where: { $0.name.value == resource.name }) else { return }
            try change(&spec.endpoints[index].tags)
        }
    }

    static func resources(_ context: ActionContext) throws(APIError) -> [TaggedResource] {
        let ids = context.request.list("ResourceId")
        guard !ids.isEmpty else { throw APIError(.missingParameter, "The request must contain the parameter ResourceId") }
        let all = taggable(context.topology)
        var found: [TaggedResource] = []
        for id in ids {
            guard let resource = all.first(where: { $0.id == id }) else {
                throw APIError(.invalidID, "The ID '\(id)' is not a resource Privet tags (a VPC, subnet, route table of the file, security group, endpoint or endpoint service)")
            }
            found.append(resource)
        }
        return found
    }

    static func createTags(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let resources = try resources(context)
        let tags = requestedTags(context.request.parameters)
        guard !tags.isEmpty else { throw APIError(.missingParameter, "The request must contain the parameter Tag") }
        for resource in resources {
            if let name = tags.first(where: { $0.key == "Name" }), name.value != resource.name {
                throw APIError(.invalidParameterValue,
                               "the Name of \(resource.id) is its Privet name '\(resource.name)', which its ID is made from: it is given at creation, not changed")
            }
        }
        try context.edit { spec, topology throws(APIError) in
            for resource in resources {
                try editTags(&spec, resource, topology) { list throws(APIError) in
                    for tag in tags where tag.key != "Name" {
                        let value = Located(tag.value ?? "", at: here)
                        if let index = list.firstIndex(where: { $0.key.value == tag.key }) {
                            list[index].value = value
                        } else {
                            list.append(TagSpec(key: Located(tag.key, at: here), value: value))
                        }
                    }
                }
            }
        }
        return { xml in returnTrue(&xml) }
    }

    static func deleteTags(_ context: inout ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let resources = try resources(context)
        let tags = requestedTags(context.request.parameters)
        if tags.contains(where: { $0.key == "Name" }) {
            throw APIError(.invalidParameterValue, "the Name tag is a resource's Privet name: it is not deleted")
        }
        try context.edit { spec, topology throws(APIError) in
            for resource in resources {
                try editTags(&spec, resource, topology) { list throws(APIError) in
                    // No tags named: all of them go, as in EC2; a tag with a value goes only with it.
                    list.removeAll { tag in
                        tags.isEmpty || tags.contains { $0.key == tag.key.value && ($0.value == nil || $0.value == tag.value.value) }
                    }
                }
            }
        }
        return { xml in returnTrue(&xml) }
    }

    static func describeTags(_ context: ActionContext) throws(APIError) -> (inout XMLWriter) -> Void {
        let filters = try Filters(context.request, known: ["resource-id", "resource-type", "key", "value"])
        var rows: [(TaggedResource, Tag)] = []
        for resource in taggable(context.topology) {
            for tag in [Tag(key: "Name", value: resource.name)] + resource.tags
                where filters.admit(["resource-id": [resource.id], "resource-type": [resource.type], "key": [tag.key], "value": [tag.value]]) {
                rows.append((resource, tag))
            }
        }
        let page = try page(rows, context)
        return { xml in
            xml.list("tagSet", member: "item", page.elements) { xml, row in
                xml.value("resourceId", row.0.id)
                xml.value("resourceType", row.0.type)
                xml.value("key", row.1.key)
                xml.value("value", row.1.value)
            }
            xml.value("nextToken", page.next)
        }
    }
}
