extension ComponentRegistry {
    /// Every component this release of the agent has.
    public static let standard = ComponentRegistry([
        OTelColReceiverOTLP.self,
        OTelColProcessorBatch.self,
        OTelColExporterLoki.self,
        LokiWrite.self,
        LokiSourceAPI.self,
        LokiEcho.self,
    ])
}
