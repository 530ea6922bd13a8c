/// An error as the service returns it: AWS's code, a message, the HTTP status (400 for the
/// caller's errors), in the service's own error document.
public struct APIError: Error, Sendable, Equatable {
    public enum Code: String, Sendable {
        // Both services.
        case malformedRequest = "MalformedQueryString"
        case missingAction = "MissingAction"
        case unsupportedOperation = "UnsupportedOperation"
        case missingParameter = "MissingParameter"
        case invalidParameterValue = "InvalidParameterValue"
        case requestTooLarge = "RequestEntityTooLarge"
        case invalidClientTokenRegion = "AuthFailure"
        case invalidVersion = "NoSuchVersion"
        case serviceUnavailable = "ServiceUnavailable"
        case dryRunOperation = "DryRunOperation"
        // EC2.
        case vpcNotFound = "InvalidVpcID.NotFound"
        case subnetNotFound = "InvalidSubnetID.NotFound"
        case vpcEndpointNotFound = "InvalidVpcEndpointId.NotFound"
        case vpcEndpointServiceNotFound = "InvalidVpcEndpointServiceId.NotFound"
        case routeTableNotFound = "InvalidRouteTableID.NotFound"
        case securityGroupNotFound = "InvalidGroup.NotFound"
        case networkInterfaceNotFound = "InvalidNetworkInterfaceID.NotFound"
        case instanceNotFound = "InvalidInstanceID.NotFound"
        case prefixListNotFound = "InvalidPrefixListID.NotFound"
        case duplicatePermission = "InvalidPermission.Duplicate"
        case permissionNotFound = "InvalidPermission.NotFound"
        case routeAlreadyExists = "RouteAlreadyExists"
        case routeNotFound = "InvalidRoute.NotFound"
        case existingConnections = "ExistingVpcEndpointConnections"
        case invalidID = "InvalidID"
        case invalidServiceName = "InvalidServiceName"
        case invalidState = "IncorrectState"
        // ELBv2.
        case loadBalancerNotFound = "LoadBalancerNotFound"
        case targetGroupNotFound = "TargetGroupNotFound"
        case invalidTarget = "InvalidTarget"
        case validationError = "ValidationError"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var status: Int {
        switch code {
        case .serviceUnavailable: return 503
        case .requestTooLarge: return 413
        case .dryRunOperation: return 412
        default: return 400
        }
    }

    /// The error document: EC2's `Response/Errors/Error`, ELBv2's `ErrorResponse`.
    func document(service: AWSService, requestID: String) -> String {
        var xml = XMLWriter()
        switch service {
        case .ec2:
            xml.element("Response") { xml in
                xml.element("Errors") { xml in
                    xml.element("Error") { xml in
                        xml.value("Code", code.rawValue)
                        xml.value("Message", message)
                    }
                }
                xml.value("RequestID", requestID)
            }
        case .elasticLoadBalancingV2:
            xml.element("ErrorResponse", namespace: service.xmlNamespace) { xml in
                xml.element("Error") { xml in
                    xml.value("Type", status >= 500 ? "Receiver" : "Sender")
                    xml.value("Code", code.rawValue)
                    xml.value("Message", message)
                }
                xml.value("RequestId", requestID)
            }
        }
        return xml.text
    }
}
