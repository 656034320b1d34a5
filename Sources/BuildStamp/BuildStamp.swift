/// What the build knows about itself. `revision` is written by the `BuildStampPlugin` before each build (see
/// `Plugins/BuildStampPlugin`).
public enum BuildStamp {}
