// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title AgentRoles
/// @notice Two-step ownership plus an agent set (ERC-3643 `AgentRole` surface:
///         `addAgent`, `removeAgent`, `isAgent`). Constructor-free so it also works
///         behind EIP-1167 clones; the inheriting contract calls `_initOwner` once.
abstract contract AgentRoles {
    address private _owner;
    address private _pendingOwner;
    mapping(address => bool) private _agents;

    /// @notice Emitted when `newOwner` is nominated and must call `acceptOwnership`.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when ownership changes.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice ERC-3643: emitted when an agent is added.
    event AgentAdded(address indexed _agent);
    /// @notice ERC-3643: emitted when an agent is removed.
    event AgentRemoved(address indexed _agent);

    /// @notice The caller is not the owner.
    error NotOwner(address caller);
    /// @notice The caller is not an agent.
    error NotAgent(address caller);
    /// @notice The caller is neither the owner nor an agent.
    error NotOwnerOrAgent(address caller);
    /// @notice A zero address was given where an account is required.
    error ZeroAddress();
    /// @notice `addAgent` for an existing agent or `removeAgent` for a non-agent.
    error AgentStatusUnchanged(address agent);

    modifier onlyOwner() {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyAgent() {
        if (!_agents[msg.sender]) revert NotAgent(msg.sender);
        _;
    }

    modifier onlyOwnerOrAgent() {
        if (msg.sender != _owner && !_agents[msg.sender]) revert NotOwnerOrAgent(msg.sender);
        _;
    }

    function _initOwner(address newOwner) internal {
        if (newOwner == address(0)) revert ZeroAddress();
        _owner = newOwner;
        emit OwnershipTransferred(address(0), newOwner);
    }

    function _addAgent(address agent) internal {
        if (agent == address(0)) revert ZeroAddress();
        if (_agents[agent]) revert AgentStatusUnchanged(agent);
        _agents[agent] = true;
        emit AgentAdded(agent);
    }

    /// @notice The current owner.
    function owner() public view returns (address) {
        return _owner;
    }

    /// @notice The nominated owner that has not accepted yet (zero if none).
    function pendingOwner() external view returns (address) {
        return _pendingOwner;
    }

    /// @notice Nominates `newOwner`; it takes effect when they call `acceptOwnership`.
    function transferOwnership(address newOwner) external onlyOwner {
        _pendingOwner = newOwner;
        emit OwnershipTransferStarted(_owner, newOwner);
    }

    /// @notice Completes a two-step ownership transfer; callable by the nominee only.
    function acceptOwnership() external {
        if (msg.sender != _pendingOwner) revert NotOwner(msg.sender);
        address previous = _owner;
        _owner = msg.sender;
        delete _pendingOwner;
        emit OwnershipTransferred(previous, msg.sender);
    }

    /// @notice ERC-3643: grants the agent role to `_agent` (owner only).
    function addAgent(address _agent) external onlyOwner {
        _addAgent(_agent);
    }

    /// @notice ERC-3643: revokes the agent role from `_agent` (owner only).
    function removeAgent(address _agent) external onlyOwner {
        if (!_agents[_agent]) revert AgentStatusUnchanged(_agent);
        delete _agents[_agent];
        emit AgentRemoved(_agent);
    }

    /// @notice ERC-3643: whether `_agent` holds the agent role.
    function isAgent(address _agent) public view returns (bool) {
        return _agents[_agent];
    }
}
