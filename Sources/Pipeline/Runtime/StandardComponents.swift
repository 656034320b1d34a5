extension ComponentRegistry {
    /// Every component this release of the agent has.
    public static let standard = ComponentRegistry([
        OTelColReceiverOTLP.self,
        OTelColProcessorBatch.self,
        OTelColProcessorK8sAttributes.self,
        OTelColProcessorAttributes.self,
        OTelColProcessorTransform.self,
        OTelColExporterLoki.self,
        OTelColExporterOTLPHTTP.self,
        OTelColExporterOTLP.self,
        LokiWrite.self,
        LokiSourceAPI.self,
        LokiEcho.self,
        LocalFileMatch.self,
        LokiSourceFile.self,
        LokiSourceJournal.self,
        LokiSourceKubernetes.self,
        DiscoveryRelabel.self,
        LokiRelabel.self,
        DiscoveryKubernetes.self,
        DiscoveryKubelet.self,
        LokiProcess.self,
    ])
}
