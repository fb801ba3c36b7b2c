// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AgentRoles} from "./AgentRoles.sol";

/// @title AssetRegistry
/// @notice Anchors the SHA-256 digests of a device's inspection certificate and signed
///         appraisal on chain. Re-anchoring (e.g. after a re-appraisal) replaces the
///         current record; every anchoring is kept in the event log.
contract AssetRegistry is AgentRoles {
    struct Anchor {
        bytes32 certificateHash;
        bytes32 appraisalHash;
        uint64 anchoredAt;
        uint32 revision;
    }

    mapping(bytes32 deviceId => Anchor) private _anchors;

    /// @notice Hashes anchored for `deviceId` (`revision` starts at 1).
    event Anchored(
        bytes32 indexed deviceId,
        bytes32 indexed certificateHash,
        bytes32 indexed appraisalHash,
        uint64 anchoredAt,
        uint32 revision,
        address agent
    );

    /// @notice `deviceId` must not be zero.
    error InvalidDeviceId();

    /// @param initialOwner owner of the registry (manages agents)
    constructor(address initialOwner) {
        _initOwner(initialOwner);
    }

    /// @notice Anchors certificate and appraisal hashes for `deviceId` (agent).
    function anchor(bytes32 deviceId, bytes32 certificateHash, bytes32 appraisalHash) external onlyAgent {
        if (deviceId == bytes32(0)) revert InvalidDeviceId();
        Anchor storage a = _anchors[deviceId];
        uint32 revision = a.revision + 1;
        a.certificateHash = certificateHash;
        a.appraisalHash = appraisalHash;
        a.anchoredAt = uint64(block.timestamp);
        a.revision = revision;
        emit Anchored(deviceId, certificateHash, appraisalHash, uint64(block.timestamp), revision, msg.sender);
    }

    /// @notice The current anchor of `deviceId` (all zero if never anchored).
    function anchorOf(bytes32 deviceId)
        external
        view
        returns (bytes32 certificateHash, bytes32 appraisalHash, uint64 anchoredAt, uint32 revision)
    {
        Anchor storage a = _anchors[deviceId];
        return (a.certificateHash, a.appraisalHash, a.anchoredAt, a.revision);
    }
}
